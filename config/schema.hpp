// The schema's vocabulary in one place: the keys each table allows and the
// spellings of every enumerated value. docs/CONFIGURATION.md mirrors this file.
// Private to config/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::config {

using Keys = std::span<const std::string_view>;

inline constexpr std::array<std::string_view, 8> kRootKeys{
    "gateway", "store", "mqtt", "homeassistant", "buses", "devices", "modbus_server", "sparkplug"};
inline constexpr std::array<std::string_view, 4> kGatewayKeys{"name", "site", "log_level",
                                                              "model_dirs"};
inline constexpr std::array<std::string_view, 8> kBusKeys{
    "name", "port", "baud", "parity", "data_bits", "stop_bits", "mode", "inter_frame_delay"};
// The keys every [[devices]] / [[devices.points]] entry may have; each
// driver's schema adds its own (config/driver_schema.hpp).
inline constexpr auto kCommonDeviceKeys = std::to_array<std::string_view>(
    {"name", "driver", "poll_interval", "response_timeout", "backoff_max", "offline_after", "topic",
     "device_topic", "qos", "retain", "payload", "publish", "deadband", "min_interval",
     "max_interval", "homeassistant", "points",
     // a library model (config/model_use.cpp)
     "model", "model_points"});
inline constexpr auto kCommonPointKeys =
    std::to_array<std::string_view>({"name", "scale", "offset", "unit", "topic", "qos", "retain",
                                     // publish policy (loader_policy.cpp)
                                     "publish", "deadband", "min_interval", "max_interval",
                                     // writes (loader_write.cpp)
                                     "writable", "min", "max", "allowed",
                                     // Home Assistant overrides (loader_homeassistant.cpp)
                                     "homeassistant"});

inline constexpr auto kStoreKeys = std::to_array<std::string_view>(
    {"path", "durability", "commit_interval", "commit_batch", "max_bytes", "max_rows", "max_age",
     "overflow", "mode", "spill_after", "spill_memory"});
// `password` is not here on purpose: the loader rejects it with its own message.
inline constexpr auto kMqttKeys = std::to_array<std::string_view>({"client",
                                                                   "broker",
                                                                   "client_id",
                                                                   "protocol",
                                                                   "keepalive",
                                                                   "clean_session",
                                                                   "connect_timeout",
                                                                   "username",
                                                                   "password_file",
                                                                   "password_credential",
                                                                   "tls",
                                                                   "max_inflight",
                                                                   "max_inflight_qos2",
                                                                   "max_payload",
                                                                   "reconnect_min",
                                                                   "reconnect_max",
                                                                   "drain_timeout",
                                                                   "topic",
                                                                   "device_topic",
                                                                   "status_topic",
                                                                   "availability_topic",
                                                                   "status_interval",
                                                                   "qos",
                                                                   "retain",
                                                                   "payload",
                                                                   "command_qos",
                                                                   "command_max_age",
                                                                   "command_max_size",
                                                                   "command_suffix",
                                                                   "result_suffix"});
inline constexpr auto kHomeAssistantKeys =
    std::to_array<std::string_view>({"enabled", "discovery_prefix", "node_id", "resend_interval"});
inline constexpr std::array<std::string_view, 2> kHaDeviceKeys{"manufacturer", "model"};
inline constexpr auto kHaPointKeys =
    std::to_array<std::string_view>({"component", "name", "device_class", "state_class", "icon",
                                     "entity_category", "enabled_by_default"});
inline constexpr std::array<std::string_view, 4> kTlsKeys{"ca_file", "cert_file", "key_file",
                                                          "verify_hostname"};

inline constexpr std::array<std::string_view, 5> kLogLevels{"trace", "debug", "info", "warn",
                                                            "error"};
// The rates termios can set; a serial library that silently falls back to
// 9600 for any other would be worse than refusing to start.
inline constexpr std::array<std::int64_t, 23> kBaudRates{
    300,     600,     1200,    2400,    4800,    9600,    19200,  38400,
    57600,   115200,  230400,  460800,  500000,  576000,  921600, 1000000,
    1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000};

inline constexpr std::array kParities{Parity::kNone, Parity::kEven, Parity::kOdd};
inline constexpr std::array kSerialModes{SerialMode::kRs232, SerialMode::kRs485};
inline constexpr std::array kDurabilities{Durability::kNormal, Durability::kFull};
inline constexpr std::array kOverflows{Overflow::kDropOldest, Overflow::kDropNewest};
inline constexpr std::array kPublishModes{PublishMode::kAlways, PublishMode::kOnChange};
inline constexpr std::array kStoreModes{StoreMode::kDisk, StoreMode::kSpill};
inline constexpr std::array kMqttClients{MqttClientLibrary::kPaho, MqttClientLibrary::kMosquitto};

/// `protocol` as written, and the MQTT protocol level each one means.
inline constexpr std::array<std::string_view, 2> kMqttProtocols{"3.1.1", "5"};
inline constexpr std::array<int, 2> kMqttProtocolLevels{4, 5};

/// The longest name. Names fill topic levels and every log line about their
/// device or point; a topic may hold several (gateway, site, device, point)
/// and must stay below MQTT's 65,535 bytes with its template.
inline constexpr std::size_t kMaxNameBytes = 128;

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
