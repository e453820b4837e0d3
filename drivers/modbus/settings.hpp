// The Modbus drivers' settings of a device and of a point, as their schema
// (schema.cpp) reads them from [[devices]] and [[devices.points]]; config/
// carries them as DeviceConfig::settings / PointConfig::settings. The data
// model's vocabulary (register kinds, value types, byte orders, write
// functions) lives here too: only the Modbus drivers and their simulators use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::modbus {

/// Modbus data model tables.
enum class RegisterKind { kCoil, kDiscreteInput, kHolding, kInput };

/// How the registers (or bits) of a point are turned into a value.
/// kBit is one bit of a 16-bit holding or input register (`bit = 0..15`).
enum class ValueType {
  kBool,
  kBit,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kFloat32,
  kFloat64,
  kString,
};

/// Byte order of a multi-byte value: A is the most significant byte.
/// ABCD = big-endian (Modbus standard), CDAB = word-swapped,
/// BADC = byte-swapped within words, DCBA = little-endian.
enum class ByteOrder { kABCD, kCDAB, kBADC, kDCBA };

/// Which Modbus write function a writable point uses. kSingle: FC5 for a
/// coil, FC6 for a one-register value, FC16 for longer ones. kMultiple: always
/// FC15 / FC16 (some devices accept nothing else).
enum class WriteFunction { kSingle, kMultiple };

/// The Modbus keys of a [[devices]] entry.
struct ModbusDeviceConfig : config::DeviceSettings {
  // modbus-tcp
  std::string host;
  int port = 502;
  // modbus-rtu
  std::string bus;  // name of a [[buses]] entry
  int unit_id = 1;
  config::Duration byte_timeout{500};
  ByteOrder byte_order = ByteOrder::kABCD;
  /// Largest number of unused registers (or bits) read through to merge two
  /// points into one request. 0 reads only registers that belong to points.
  int max_gap = 16;
  /// Largest request in registers (holding/input, at most 125) and bits
  /// (coils/discrete inputs, at most 2000), for devices with smaller buffers.
  int max_registers = 125;
  int max_bits = 2000;
  /// One request per point, for devices that reject multi-point reads.
  bool single_point_reads = false;
  /// `model = "sunspec"`: the device's points are discovered from its
  /// SunSpec model chain (drivers/sunspec/, docs/SUNSPEC.md).
  bool sunspec = false;
};

/// Where a Modbus point's value is and how it is read and written.
struct ModbusPointConfig : config::PointSettings {
  RegisterKind kind = RegisterKind::kHolding;
  int address = 0;  // 0-based protocol address
  ValueType type = ValueType::kUInt16;
  int count = 0;                        // registers, only for type string (required there)
  int bit = 0;                          // only for type bit: 0 = least significant
  std::optional<ByteOrder> byte_order;  // overrides the device's byte_order
  WriteFunction write_function = WriteFunction::kSingle;  // writable points only

  /// Effective settings after applying the device defaults.
  [[nodiscard]] ByteOrder order_or(ByteOrder device_default) const noexcept {
    return byte_order.value_or(device_default);
  }
};

// Names as spelled in TOML (schema.cpp, `check`, `poll`).
[[nodiscard]] std::string_view to_string(RegisterKind k) noexcept;
[[nodiscard]] std::string_view to_string(ValueType t) noexcept;
[[nodiscard]] std::string_view to_string(ByteOrder o) noexcept;
[[nodiscard]] std::string_view to_string(WriteFunction f) noexcept;

/// Registers a value of this type occupies (1 for bool/bit, `count` for strings).
[[nodiscard]] int register_count(ValueType t, int string_count) noexcept;

/// Is this a bit table (coils, discrete inputs)?
[[nodiscard]] constexpr bool is_bit_kind(RegisterKind k) noexcept {
  return k == RegisterKind::kCoil || k == RegisterKind::kDiscreteInput;
}

/// The Modbus settings of a device (of a point); the defaults when it has
/// none, as a configuration built by hand in a test.
[[nodiscard]] inline const ModbusDeviceConfig& device_of(const config::DeviceConfig& d) noexcept {
  return config::settings_of<ModbusDeviceConfig>(d);
}
[[nodiscard]] inline const ModbusPointConfig& point_of(const config::PointConfig& p) noexcept {
  return config::settings_of<ModbusPointConfig>(p);
}

/// For configurations built by hand (tests): config::edit_settings_of.
inline ModbusDeviceConfig& edit_device_of(config::DeviceConfig& d) {
  return config::edit_settings_of<ModbusDeviceConfig>(d);
}
inline ModbusPointConfig& edit_point_of(config::PointConfig& p) {
  return config::edit_settings_of<ModbusPointConfig>(p);
}

}  // namespace fieldgate::modbus
