#include "config/cross_checks.hpp"

#include <fmt/format.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/suggest.hpp"

namespace fieldgate::config {
namespace {

// Reports every repeat of a value after its first use. `what` names the
// value in the message ("device name").
class FirstUse {
 public:
  FirstUse(Diagnostics& diag, std::string_view what) : diag_(diag), what_(what) {}

  void see(const std::string& value, const std::string& key_path, SourcePos fallback) {
    if (value.empty()) return;
    const SourcePos pos = diag_.position(key_path, fallback);
    const auto [it, inserted] = first_.emplace(value, pos);
    if (!inserted) {
      diag_.add(pos, key_path,
                fmt::format("duplicate {} {:?} (first defined at line {})", what_, value,
                            it->second.line));
    }
  }

 private:
  Diagnostics& diag_;
  std::string_view what_;
  std::map<std::string, SourcePos> first_;
};

std::string unknown_bus_message(const std::string& name, const Config& config) {
  std::vector<std::string_view> names;
  for (const BusConfig& bus : config.buses) {
    if (!bus.name.empty()) names.push_back(bus.name);
  }
  std::string message = fmt::format("no [[buses]] entry named {:?}", name);
  if (names.empty()) return message + " (this file defines no [[buses]])";
  if (const auto guess = closest_match(name, names)) {
    return message + fmt::format(" (did you mean {:?}?)", *guess);
  }
  return message + fmt::format(" (buses: {})", fmt::join(names, ", "));
}

// What a driver's check_device asks for, against this file's buses and ports.
class Checks final : public DeviceChecks {
 public:
  Checks(const Config& config, Diagnostics& diag, FirstUse& ports)
      : config_(config), diag_(diag), ports_(ports) {}

  void claim_port(const std::string& port, const std::string& key_path,
                  SourcePos fallback) override {
    ports_.see(port, key_path, fallback);
  }

  void need_bus(const std::string& bus, const std::string& key_path, SourcePos fallback) override {
    if (bus.empty() || config_.find_bus(bus) != nullptr) return;
    diag_.add(diag_.position(key_path, fallback), key_path, unknown_bus_message(bus, config_));
  }

 private:
  const Config& config_;
  Diagnostics& diag_;
  FirstUse& ports_;
};

}  // namespace

void check_cross_references(const Config& config, const SchemaCatalog& drivers, Diagnostics& diag) {
  FirstUse bus_names(diag, "bus name");
  // Two [[buses]] on one port would mean two workers talking over each other
  // on a half-duplex line.
  FirstUse bus_ports(diag, "serial port");
  for (std::size_t i = 0; i < config.buses.size(); ++i) {
    const BusConfig& bus = config.buses[i];
    const std::string base = fmt::format("buses[{}]", i);
    bus_names.see(bus.name, base + ".name", bus.pos);
    bus_ports.see(bus.port, base + ".port", bus.pos);
  }

  Checks checks(config, diag, bus_ports);
  FirstUse device_names(diag, "device name");
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const DeviceConfig& device = config.devices[i];
    const std::string base = fmt::format("devices[{}]", i);
    device_names.see(device.name, base + ".name", device.pos);
    // A device without a known driver was read by the fallback schema; it checks it too.
    const DriverSchema* schema =
        device.driver.empty() ? drivers.fallback() : drivers.find(device.driver);
    if (schema != nullptr) {
      schema->check_device(config, device, base, checks);
    }
    FirstUse point_names(diag, "point name");
    for (std::size_t j = 0; j < device.points.size(); ++j) {
      const PointConfig& point = device.points[j];
      point_names.see(point.name, fmt::format("{}.points[{}].name", base, j), point.pos);
    }
  }
}

}  // namespace fieldgate::config
