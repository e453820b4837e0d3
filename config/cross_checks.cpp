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

}  // namespace

void check_cross_references(const Config& config, Diagnostics& diag) {
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

  FirstUse device_names(diag, "device name");
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const DeviceConfig& device = config.devices[i];
    const std::string base = fmt::format("devices[{}]", i);
    device_names.see(device.name, base + ".name", device.pos);
    // A serial-line device owns its port like a bus does: nobody else may talk on it.
    if (device.driver == "serial-line")
      bus_ports.see(device.serial.port, base + ".port", device.pos);
    if (!device.bus.empty() && config.find_bus(device.bus) == nullptr) {
      const std::string key = base + ".bus";
      diag.add(diag.position(key, device.pos), key, unknown_bus_message(device.bus, config));
    }
    FirstUse point_names(diag, "point name");
    for (std::size_t j = 0; j < device.points.size(); ++j) {
      const PointConfig& point = device.points[j];
      point_names.see(point.name, fmt::format("{}.points[{}].name", base, j), point.pos);
    }
  }
}

}  // namespace fieldgate::config
