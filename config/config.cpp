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

std::string_view to_string(WriteFunction f) noexcept {
  return f == WriteFunction::kMultiple ? "multiple" : "single";
}

std::string_view to_string(RegisterKind k) noexcept {
  switch (k) {
    case RegisterKind::kCoil:
      return "coil";
    case RegisterKind::kDiscreteInput:
      return "discrete_input";
    case RegisterKind::kHolding:
      return "holding";
    case RegisterKind::kInput:
      return "input";
  }
  return "?";
}

std::string_view to_string(ValueType t) noexcept {
  switch (t) {
    case ValueType::kBool:
      return "bool";
    case ValueType::kBit:
      return "bit";
    case ValueType::kInt16:
      return "int16";
    case ValueType::kUInt16:
      return "uint16";
    case ValueType::kInt32:
      return "int32";
    case ValueType::kUInt32:
      return "uint32";
    case ValueType::kInt64:
      return "int64";
    case ValueType::kUInt64:
      return "uint64";
    case ValueType::kFloat32:
      return "float32";
    case ValueType::kFloat64:
      return "float64";
    case ValueType::kString:
      return "string";
  }
  return "?";
}

std::string_view to_string(ByteOrder o) noexcept {
  switch (o) {
    case ByteOrder::kABCD:
      return "ABCD";
    case ByteOrder::kCDAB:
      return "CDAB";
    case ByteOrder::kBADC:
      return "BADC";
    case ByteOrder::kDCBA:
      return "DCBA";
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

int register_count(ValueType t, int string_count) noexcept {
  switch (t) {
    case ValueType::kBool:
    case ValueType::kBit:
    case ValueType::kInt16:
    case ValueType::kUInt16:
      return 1;
    case ValueType::kInt32:
    case ValueType::kUInt32:
    case ValueType::kFloat32:
      return 2;
    case ValueType::kInt64:
    case ValueType::kUInt64:
    case ValueType::kFloat64:
      return 4;
    case ValueType::kString:
      return string_count;
  }
  return 1;
}

}  // namespace fieldgate::config
