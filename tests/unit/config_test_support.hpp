// Shared by the config unit tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::config {

/// A config that must load, loaded as "t.toml".
inline Config load(const std::string& toml) {
  return fieldgate::test_support::load_config_string(toml, "t.toml");
}

/// The issues of a config that must not load, one "file:line:col: ..." per
/// line, loaded as "t.toml". Fails the calling test when it loads.
inline std::string errors_of(const std::string& toml) {
  try {
    (void)fieldgate::test_support::load_config_string(toml, "t.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loaded without error:\n" << toml;
  return {};
}

}  // namespace fieldgate::config
