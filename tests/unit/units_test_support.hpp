// Shared by the unit tests of sizes (config/units.hpp).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "config/units.hpp"

namespace fieldgate::config {

/// A size that must parse; fails the calling test if it does not.
inline std::uint64_t size_ok(const std::string& text) {
  const Parsed<std::uint64_t> parsed = parse_size(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error;
  return parsed.value.value_or(0);
}

/// The error of a size that must not parse.
inline std::string size_error(const std::string& text) {
  const Parsed<std::uint64_t> parsed = parse_size(text);
  EXPECT_FALSE(parsed) << text << " parsed as " << parsed.value.value_or(0);
  return parsed.error;
}

}  // namespace fieldgate::config
