// load_config() with the drivers fieldgate ships, for tests that load a
// configuration: config/ itself knows no driver, the caller passes the
// drivers' schemas (drivers/registry.hpp).
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "drivers/registry.hpp"

namespace fieldgate::test_support {

/// The schemas of make_default_registry(), built once and never changed.
inline const config::SchemaCatalog& default_schemas() {
  static const drivers::DriverRegistry registry = drivers::make_default_registry();
  return registry.schemas();
}

inline config::Config load_config_string(std::string_view toml, const std::string& path) {
  return config::load_config_string(toml, path, default_schemas());
}

inline config::Config load_config(const std::string& path) {
  return config::load_config(path, default_schemas());
}

}  // namespace fieldgate::test_support
