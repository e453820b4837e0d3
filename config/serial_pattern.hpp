// Compiles a serial-line `pattern` once at load time, so a bad regular
// expression or a `group` it lacks is a config error with a position, not a
// surprise at run time. Private to config/; the driver compiles its own copy
// (drivers/serial/pcre_regex.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fieldgate::config {

struct PatternInfo {
  std::string error;                     // "" when the pattern compiled; else PCRE2's message
  std::size_t offset = 0;                // where in the pattern PCRE2 gave up (with an error)
  std::vector<std::string> group_names;  // named capture groups, in pattern order
};

[[nodiscard]] PatternInfo inspect_pattern(std::string_view pattern);

}  // namespace fieldgate::config
