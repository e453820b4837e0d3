#include "config/config.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  switch (f) {
    case FlowControl::kNone:
      return "none";
    case FlowControl::kRtsCts:
      return "rtscts";
    case FlowControl::kXonXoff:
      return "xonxoff";
  }
  return "?";
}

std::string_view to_string(Parity p) noexcept {
  switch (p) {
    case Parity::kNone:
      return "none";
    case Parity::kEven:
      return "even";
    case Parity::kOdd:
      return "odd";
  }
  return "?";
}

std::string_view to_string(SerialMode m) noexcept {
  switch (m) {
    case SerialMode::kRs232:
      return "rs232";
    case SerialMode::kRs485:
      return "rs485";
  }
  return "?";
}

std::string_view to_string(Durability d) noexcept {
  switch (d) {
    case Durability::kNormal:
      return "normal";
    case Durability::kFull:
      return "full";
  }
  return "?";
}

std::string_view to_string(Overflow o) noexcept {
  switch (o) {
    case Overflow::kDropOldest:
      return "drop_oldest";
    case Overflow::kDropNewest:
      return "drop_newest";
  }
  return "?";
}

std::string_view to_string(StoreMode m) noexcept {
  switch (m) {
    case StoreMode::kDisk:
      return "disk";
    case StoreMode::kSpill:
      return "spill";
  }
  return "?";
}

}  // namespace fieldgate::config
