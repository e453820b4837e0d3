#include "config/config.hpp"

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/enum_names.hpp"

namespace fieldgate::config {
namespace {

std::string join_issues(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const ConfigIssue& issue : issues) {
    if (!out.empty()) out += '\n';
    out += issue.to_string();
  }
  return out;
}

}  // namespace

const BusConfig* Config::find_bus(const std::string& name) const noexcept {
  for (const BusConfig& bus : buses) {
    if (bus.name == name) return &bus;
  }
  return nullptr;
}

const DeviceConfig* Config::find_device(const std::string& name) const noexcept {
  for (const DeviceConfig& device : devices) {
    if (device.name == name) return &device;
  }
  return nullptr;
}

std::string ConfigIssue::to_string() const {
  // Position and key path are left out when unknown (an unreadable file has
  // neither), so the line never carries a misleading ":0:0:" or ": :".
  std::string out = file;
  if (pos.line > 0) {
    out += ':' + std::to_string(pos.line) + ':' + std::to_string(pos.column);
  }
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  return out;
}

ConfigError::ConfigError(std::vector<ConfigIssue> issues)
    : std::runtime_error(join_issues(issues)), issues_(std::move(issues)) {}

std::string_view to_string(FlowControl f) noexcept {
  static constexpr std::array<std::string_view, 3> kNames{"none", "rtscts", "xonxoff"};
  return enum_name<FlowControl::kXonXoff>(kNames, f);
}

std::string_view to_string(Parity p) noexcept {
  static constexpr std::array<std::string_view, 3> kNames{"none", "even", "odd"};
  return enum_name<Parity::kOdd>(kNames, p);
}

std::string_view to_string(SerialMode m) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"rs232", "rs485"};
  return enum_name<SerialMode::kRs485>(kNames, m);
}

std::string_view to_string(Durability d) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"normal", "full"};
  return enum_name<Durability::kFull>(kNames, d);
}

std::string_view to_string(Overflow o) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"drop_oldest", "drop_newest"};
  return enum_name<Overflow::kDropNewest>(kNames, o);
}

std::string_view to_string(MqttClientLibrary c) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"paho", "mosquitto"};
  return enum_name<MqttClientLibrary::kMosquitto>(kNames, c);
}

std::string_view to_string(PublishMode m) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"always", "on_change"};
  return enum_name<PublishMode::kOnChange>(kNames, m);
}

std::string_view to_string(StoreMode m) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"disk", "spill"};
  return enum_name<StoreMode::kSpill>(kNames, m);
}

}  // namespace fieldgate::config
