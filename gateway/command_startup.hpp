// The start-up that `check`, `poll` and `write` share: load the configuration
// (printing every problem), then build its drivers from the registry exactly
// as `run` does, so what a command shows or does is what the daemon would.
// Also where the catalog the loader reads with is put together: the drivers'
// schemas and the payload formats of the encoders.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/payload_encoder.hpp"
#include "config/config.hpp"
#include "config/driver_schema.hpp"
#include "drivers/registry.hpp"

namespace fieldgate::gateway {

/// What load_config() reads with: the schemas of `drivers` and, for
/// `payload = "..."`, the formats of `encoders` (names and grouping), each in
/// registration order. config/ knows neither by name.
[[nodiscard]] config::SchemaCatalog make_catalog(const drivers::DriverRegistry& drivers,
                                                 const bridge::EncoderRegistry& encoders);

/// Loads a config with `schemas` (make_catalog()), or prints every problem to
/// `err` and returns nullopt.
[[nodiscard]] std::optional<config::Config> load_or_report(const std::string& path,
                                                           const config::SchemaCatalog& schemas,
                                                           std::ostream& err);

/// A command's configuration and, once created, its drivers (no I/O happens
/// until a driver is used). The drivers' shared resources live as long as it.
class CommandStartup {
 public:
  /// Loads `path`; nullptr after printing every problem to `err`. `registry`
  /// makes the drivers; the payload formats are those `run` publishes with
  /// (bridge::make_default_encoders()).
  [[nodiscard]] static std::unique_ptr<CommandStartup> load(
      const std::string& path, std::ostream& err,
      drivers::DriverRegistry registry = drivers::make_default_registry());

  /// Creates one driver per device, or only for the device named `only`.
  /// False after printing "<path>: <reason>" to `err`.
  [[nodiscard]] bool create_drivers(std::ostream& err, const std::string& only = {});

  [[nodiscard]] const config::Config& config() const noexcept { return config_; }
  /// The drivers this command knows: their factories, schemas and endpoints.
  [[nodiscard]] const drivers::DriverRegistry& registry() const noexcept { return registry_; }
  /// Those create_drivers() made, in the order of the configured devices.
  [[nodiscard]] std::vector<std::unique_ptr<drivers::Driver>>& drivers() noexcept {
    return drivers_;
  }

  CommandStartup(std::string path, config::Config config, drivers::DriverRegistry registry);

 private:
  std::string path_;
  config::Config config_;
  drivers::DriverRegistry registry_;
  drivers::SharedResources shared_;  // outlives the drivers made with it
  std::vector<std::unique_ptr<drivers::Driver>> drivers_;
};

}  // namespace fieldgate::gateway
