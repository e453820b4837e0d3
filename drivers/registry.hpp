// DriverRegistry: driver name (as written in `driver = "..."`) → the driver's
// descriptor: its schema (config keys), factory and `check` endpoint text.
// Built once at start-up by make_default_registry(); no global state.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/driver_schema.hpp"
#include "drivers/driver.hpp"
#include "drivers/simulator.hpp"

namespace fieldgate::drivers {

/// Resources shared by the devices of one channel, keyed by channel name: the
/// one libmodbus context of an RS-485 port that several unit ids share, for
/// example. Lives as long as the drivers created with it.
class SharedResources {
 public:
  /// Returns the resource stored under `key`, creating it with `make()` first.
  template <class T, class Make>
  std::shared_ptr<T> get_or_create(const std::string& key, Make&& make) {
    auto it = items_.find(key);
    if (it == items_.end()) {
      it = items_.emplace(key, std::shared_ptr<void>(std::forward<Make>(make)())).first;
    }
    return std::static_pointer_cast<T>(it->second);
  }

 private:
  std::map<std::string, std::shared_ptr<void>> items_;
};

struct DriverContext {
  const config::Config& config;
  SharedResources& shared;
  /// Set when the caller owns `config` through a shared pointer: drivers then
  /// share their device's settings instead of copying them.
  std::shared_ptr<const config::Config> config_owner = {};
  /// Where drivers keep what they learn of their devices across restarts
  /// (driver.hpp); null: nothing is kept (check, poll).
  std::shared_ptr<DeviceNotes> notes = {};

  /// `device`, an element of `config`, for a driver to keep: an alias into
  /// the shared configuration when there is one, else a copy.
  [[nodiscard]] std::shared_ptr<const config::DeviceConfig> share(
      const config::DeviceConfig& device) const {
    if (config_owner) return {config_owner, &device};
    return std::make_shared<const config::DeviceConfig>(device);
  }
};

using DriverFactory =
    std::function<std::unique_ptr<Driver>(const config::DeviceConfig&, DriverContext&)>;

/// How `fieldgate check` names a device's endpoint ("modbus-tcp 10.0.0.5:502 unit 1").
using EndpointText = std::function<std::string(const config::DeviceConfig&, const config::Config&)>;

/// One driver as a drivers/<kind>/ folder registers it. Drivers of one family
/// (modbus-tcp, modbus-rtu) share one schema.
struct DriverDescriptor {
  std::string name;  // `driver = "..."`; one of schema->names()
  std::shared_ptr<const config::DriverSchema> schema;
  DriverFactory factory;
  EndpointText endpoint;
};

class DriverRegistry {
 public:
  void add(DriverDescriptor descriptor);

  /// Creates the driver for `device`; throws std::invalid_argument for an
  /// unknown driver name (the config loader rejects those earlier).
  [[nodiscard]] std::unique_ptr<Driver> create(const config::DeviceConfig& device,
                                               DriverContext& context) const;

  [[nodiscard]] std::vector<std::string> names() const;

  /// The schemas of every registered driver, for load_config() (a program
  /// adds the payload formats of its encoders to a copy: gateway::make_catalog()).
  [[nodiscard]] const config::SchemaCatalog& schemas() const noexcept { return schemas_; }

  /// Adds a `fieldgate simulate` subcommand; they are listed in this order.
  void add_simulator(SimulatorEntry simulator);
  [[nodiscard]] const std::vector<SimulatorEntry>& simulators() const noexcept {
    return simulators_;
  }

  /// How `check` names `device`'s endpoint; the driver name for an unknown one.
  [[nodiscard]] std::string describe_endpoint(const config::DeviceConfig& device,
                                              const config::Config& config) const;

 private:
  std::map<std::string, DriverDescriptor, std::less<>> drivers_;
  config::SchemaCatalog schemas_;
  std::vector<const config::DriverSchema*> added_;  // each schema enters the catalog once
  std::vector<SimulatorEntry> simulators_;
};

/// The registry with every driver and simulator fieldgate ships (each
/// drivers/<kind>/ folder's register function).
[[nodiscard]] DriverRegistry make_default_registry();

/// Creates one driver per configured device (all of them, or only `only` when
/// not empty). Throws std::invalid_argument when `only` names no device.
[[nodiscard]] std::vector<std::unique_ptr<Driver>> create_drivers(const config::Config& config,
                                                                  const DriverRegistry& registry,
                                                                  SharedResources& shared,
                                                                  const std::string& only = {});
/// The same for a configuration the drivers may share (`fieldgate run`): each
/// driver keeps `config` alive instead of a copy of its device.
/// `notes` is where they keep what they learn of their devices (DeviceNotes).
[[nodiscard]] std::vector<std::unique_ptr<Driver>> create_drivers(
    std::shared_ptr<const config::Config> config, const DriverRegistry& registry,
    SharedResources& shared, std::shared_ptr<DeviceNotes> notes = {});

}  // namespace fieldgate::drivers
