// The schema's vocabulary in one place: the keys each table allows and the
// spellings of every enumerated value. docs/CONFIGURATION.md mirrors this file.
// Private to config/.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::config {

using Keys = std::span<const std::string_view>;

inline constexpr std::array<std::string_view, 3> kRootKeys{"gateway", "buses", "devices"};
inline constexpr std::array<std::string_view, 2> kGatewayKeys{"name", "log_level"};
inline constexpr std::array<std::string_view, 8> kBusKeys{
    "name", "port", "baud", "parity", "data_bits", "stop_bits", "mode", "inter_frame_delay"};
inline constexpr std::array<std::string_view, 17> kDeviceKeys{"name",
                                                              "driver",
                                                              "host",
                                                              "port",
                                                              "bus",
                                                              "unit_id",
                                                              "poll_interval",
                                                              "response_timeout",
                                                              "byte_timeout",
                                                              "retries",
                                                              "byte_order",
                                                              "max_gap",
                                                              "max_registers",
                                                              "max_bits",
                                                              "single_point_reads",
                                                              "backoff_max",
                                                              "points"};
inline constexpr std::array<std::string_view, 11> kPointKeys{
    "name",  "kind",   "address", "type",     "count",     "bit",
    "scale", "offset", "unit",    "interval", "byte_order"};

inline constexpr std::array<std::string_view, 5> kLogLevels{"trace", "debug", "info", "warn",
                                                            "error"};
inline constexpr std::string_view kModbusTcp = "modbus-tcp";
inline constexpr std::string_view kModbusRtu = "modbus-rtu";
inline constexpr std::array<std::string_view, 2> kDrivers{kModbusTcp, kModbusRtu};

// The rates termios (and so libmodbus) can set; libmodbus silently falls back
// to 9600 for any other, which is worse than refusing to start.
inline constexpr std::array<std::int64_t, 23> kBaudRates{
    300,     600,     1200,    2400,    4800,    9600,    19200,  38400,
    57600,   115200,  230400,  460800,  500000,  576000,  921600, 1000000,
    1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000};

inline constexpr std::array kRegisterKinds{RegisterKind::kCoil, RegisterKind::kDiscreteInput,
                                           RegisterKind::kHolding, RegisterKind::kInput};
inline constexpr std::array kValueTypes{
    ValueType::kBool,    ValueType::kBit,     ValueType::kInt16, ValueType::kUInt16,
    ValueType::kInt32,   ValueType::kUInt32,  ValueType::kInt64, ValueType::kUInt64,
    ValueType::kFloat32, ValueType::kFloat64, ValueType::kString};
inline constexpr std::array kByteOrders{ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                        ByteOrder::kDCBA};
inline constexpr std::array kParities{Parity::kNone, Parity::kEven, Parity::kOdd};
inline constexpr std::array kSerialModes{SerialMode::kRs232, SerialMode::kRs485};

/// Names of gateways, buses, devices and points end up in MQTT topic levels and
/// log lines: letters, digits, "_", "-" and "." only, and not empty.
[[nodiscard]] constexpr bool is_valid_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace fieldgate::config
