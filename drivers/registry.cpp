#include "drivers/registry.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "drivers/modbus/modbus_driver.hpp"
#include "drivers/serial/serial_line_driver.hpp"

namespace fieldgate::drivers {

void DriverRegistry::add(std::string name, DriverFactory factory) {
  factories_.insert_or_assign(std::move(name), std::move(factory));
}

std::unique_ptr<Driver> DriverRegistry::create(const config::DeviceConfig& device,
                                               DriverContext& context) const {
  auto it = factories_.find(device.driver);
  if (it == factories_.end()) {
    throw std::invalid_argument(fmt::format("device \"{}\": unknown driver \"{}\" (known: {})",
                                            device.name, device.driver, fmt::join(names(), ", ")));
  }
  return it->second(device, context);
}

std::vector<std::string> DriverRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

DriverRegistry make_default_registry() {
  DriverRegistry registry;
  modbus::register_drivers(registry);
  serial::register_driver(registry);
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
                                                    SharedResources& shared) {
  DriverContext context{*config, shared, config};
  return create_all(*config, registry, context, {});
}

}  // namespace fieldgate::drivers
