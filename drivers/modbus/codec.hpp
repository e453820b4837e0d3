// Modbus register <-> value conversion for every ValueType and ByteOrder.
// Pure functions, no I/O: used by the driver to decode and by the simulator
// (and later by writes) to encode.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/reading.hpp"

namespace fieldgate::modbus {

/// Decodes a raw value (before scale and offset) from `regs`, which holds
/// exactly register_count(type, count) registers as they came off the wire.
/// bool/kBit are returned as bool, integers as int64 (uint64 above INT64_MAX
/// becomes double), floats as double, strings with trailing NULs and spaces
/// removed. `bit` is used for kBit only. Returns monostate if regs is too short.
[[nodiscard]] Value decode_registers(std::span<const std::uint16_t> regs, config::ValueType type,
                                     config::ByteOrder order, int bit = 0);

/// Applies scale and offset: bool and string unchanged; an integer stays an
/// integer when scale == 1 and offset == 0, otherwise raw * scale + offset as double.
[[nodiscard]] Value apply_scale(const Value& raw, double scale, double offset);

/// Encodes a value into registers, the exact inverse of decode_registers for
/// the same type and order (strings are NUL-padded to `count` registers; kBit
/// yields a register with only bit `bit` set, so a write must merge it).
/// Integer types take int64 or an integral double; floats take double or int64;
/// bool/kBit take bool (or int64 0/1); strings must be printable ASCII.
/// Returns nullopt when the value does not fit the type.
[[nodiscard]] std::optional<std::vector<std::uint16_t>> encode_registers(const Value& value,
                                                                         config::ValueType type,
                                                                         config::ByteOrder order,
                                                                         int count = 0,
                                                                         int bit = 0);

}  // namespace fieldgate::modbus
