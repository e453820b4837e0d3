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
#include "core/reading.hpp"
#include "drivers/modbus/settings.hpp"

namespace fieldgate::modbus {

/// Decodes a raw value (before scale and offset) from `regs`, which holds
/// exactly register_count(type, count) registers as they came off the wire.
/// bool/kBit are returned as bool, integers as int64 (uint64 above INT64_MAX
/// becomes double), floats as double, strings with trailing NULs and spaces
/// removed. `bit` is used for kBit only. Returns monostate if regs is too short.
[[nodiscard]] Value decode_registers(std::span<const std::uint16_t> regs, ValueType type,
                                     ByteOrder order, int bit = 0);

/// Applies scale and offset: bool and string unchanged; an integer stays an
/// integer when scale == 1 and offset == 0, otherwise raw * scale + offset as
/// double, rounded to the decimal places the scale and offset have (353 × 0.1
/// is 35.3, drivers/decimal_scale.hpp). A float's raw value is not rounded:
/// its own digits go beyond the scale's.
[[nodiscard]] Value apply_scale(const Value& raw, double scale, double offset);

/// Encodes a value into registers, the exact inverse of decode_registers for
/// the same type and order (strings are NUL-padded to `count` registers; kBit
/// yields a register with only bit `bit` set, so a write must merge it).
/// Integer types take int64 or an integral double; floats take double or int64;
/// bool/kBit take bool (or int64 0/1); strings must be printable ASCII.
/// Returns nullopt when the value does not fit the type.
[[nodiscard]] std::optional<std::vector<std::uint16_t>> encode_registers(
    const Value& value, ValueType type, ByteOrder order, int count = 0, int bit = 0);

/// Registers (or, for a coil, one 0/1 "register") for writing `value`, given
/// in the point's units as readings show it: scale and offset are inverted
/// (raw = (value - offset) / scale, rounded to the nearest whole number for
/// integer types), then encode_registers() checks that the raw value fits.
/// A value without scale or offset must already be a whole number for an
/// integer type (21.5 is refused for an int16, never truncated). kBit yields
/// only the point's bit set (or clear): the caller merges it into the register.
struct EncodedWrite {
  std::vector<std::uint16_t> registers;
  std::string error;  // why the value cannot be written; registers empty then
};
[[nodiscard]] EncodedWrite encode_point_value(const config::PointConfig& point, ByteOrder order,
                                              const Value& value);

}  // namespace fieldgate::modbus
