// A library model's identification probe (config/model.hpp) evaluated on a
// Modbus device: each probe point is read, decoded with its type and byte
// order and scaled, then compared with the probe's ranges. `fieldgate scan`
// uses it with reads on the bus; tests with a register map.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "config/model.hpp"
#include "drivers/modbus/settings.hpp"

namespace fieldgate::modbus {

/// Reads `count` registers of `kind` from `address` (0-based); nullopt when
/// the device refused or did not answer.
using RegisterRead = std::function<std::optional<std::vector<std::uint16_t>>(
    RegisterKind kind, int address, int count)>;

/// The value of one of the model's points from `read`, in its units (after
/// scale and offset), decoded with `order` instead of the point's byte order
/// when given (to find the order that gives plausible values); nullopt when
/// it cannot be read or is not a number.
[[nodiscard]] std::optional<double> read_point_value(const config::PointConfig& point,
                                                     const RegisterRead& read,
                                                     std::optional<ByteOrder> order = {});

/// Evaluates `model`'s probe with `read` (see read_point_value for `order`).
[[nodiscard]] config::ProbeVerdict evaluate_model_probe(const config::Model& model,
                                                        const RegisterRead& read,
                                                        std::optional<ByteOrder> order = {});

}  // namespace fieldgate::modbus
