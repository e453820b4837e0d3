#include "drivers/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "drivers/modbus/modbus_driver.hpp"
#include "drivers/serial/serial_line_driver.hpp"
#include "drivers/sim/simulators.hpp"

namespace fieldgate::drivers {

void DriverRegistry::add(DriverDescriptor descriptor) {
  if (std::find(added_.begin(), added_.end(), descriptor.schema.get()) == added_.end()) {
    added_.push_back(descriptor.schema.get());
    schemas_.add(descriptor.schema);
  }
  std::string name = descriptor.name;
  drivers_.insert_or_assign(std::move(name), std::move(descriptor));
}

void DriverRegistry::add_simulator(SimulatorEntry simulator) {
  simulators_.push_back(std::move(simulator));
}

std::string DriverRegistry::describe_endpoint(const config::DeviceConfig& device,
                                              const config::Config& config) const {
  const auto it = drivers_.find(device.driver);
  if (it == drivers_.end() || !it->second.endpoint) return device.driver;
  return it->second.endpoint(device, config);
}

std::unique_ptr<Driver> DriverRegistry::create(const config::DeviceConfig& device,
                                               DriverContext& context) const {
  auto it = drivers_.find(device.driver);
  if (it == drivers_.end()) {
    throw std::invalid_argument(fmt::format("device \"{}\": unknown driver \"{}\" (known: {})",
                                            device.name, device.driver, fmt::join(names(), ", ")));
  }
  return it->second.factory(device, context);
}

std::vector<std::string> DriverRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, descriptor] : drivers_) out.push_back(name);
  return out;
}

DriverRegistry make_default_registry() {
  DriverRegistry registry;
  modbus::register_drivers(registry);
  serial::register_driver(registry);
  sim::register_simulators(registry);
  return registry;
}

namespace {

std::vector<std::unique_ptr<Driver>> create_all(const config::Config& config,
                                                const DriverRegistry& registry,
                                                DriverContext& context, const std::string& only) {
  std::vector<std::unique_ptr<Driver>> drivers;
  for (const auto& device : config.devices) {
    if (!only.empty() && device.name != only) continue;
    drivers.push_back(registry.create(device, context));
  }
  if (!only.empty() && drivers.empty()) {
    throw std::invalid_argument(fmt::format("no device named \"{}\" in {}", only, config.path));
  }
  return drivers;
}

}  // namespace

std::vector<std::unique_ptr<Driver>> create_drivers(const config::Config& config,
                                                    const DriverRegistry& registry,
                                                    SharedResources& shared,
                                                    const std::string& only) {
  DriverContext context{config, shared};
  return create_all(config, registry, context, only);
}

std::vector<std::unique_ptr<Driver>> create_drivers(std::shared_ptr<const config::Config> config,
                                                    const DriverRegistry& registry,
                                                    SharedResources& shared,
                                                    std::shared_ptr<DeviceNotes> notes) {
  DriverContext context{*config, shared, config, std::move(notes)};
  return create_all(*config, registry, context, {});
}

}  // namespace fieldgate::drivers
