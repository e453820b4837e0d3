// load_config() with the drivers and payload formats fieldgate ships, for
// tests that load a configuration: config/ itself knows neither, the caller
// passes a catalog of the drivers' schemas (drivers/registry.hpp) and the
// encoders' formats (bridge/payload_encoder.hpp), as gateway::make_catalog().
#pragma once

#include <string>
#include <string_view>

#include "bridge/payload_encoder.hpp"
#include "config/config.hpp"
#include "config/driver_schema.hpp"
#include "drivers/registry.hpp"
#include "gateway/command_startup.hpp"

namespace fieldgate::test_support {

/// The drivers of make_default_registry() with the formats of `encoders`.
inline config::SchemaCatalog catalog_with(const bridge::EncoderRegistry& encoders) {
  return gateway::make_catalog(drivers::make_default_registry(), encoders);
}

/// The catalog of make_default_registry() and make_default_encoders(), built
/// once and never changed.
inline const config::SchemaCatalog& default_schemas() {
  static const config::SchemaCatalog catalog = catalog_with(bridge::make_default_encoders());
  return catalog;
}

inline config::Config load_config_string(std::string_view toml, const std::string& path) {
  return config::load_config_string(toml, path, default_schemas());
}

inline config::Config load_config(const std::string& path) {
  return config::load_config(path, default_schemas());
}

}  // namespace fieldgate::test_support
