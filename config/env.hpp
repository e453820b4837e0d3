// ${NAME} / ${NAME:-default} substitution in configuration strings.
//
// Deliberately small: one pass, no nested references, no commands, no $NAME
// without braces. `$$` is a literal `$`; any other `$` is kept as it is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace fieldgate::config {

/// Looks up one environment variable; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment (getenv).
[[nodiscard]] std::optional<std::string> process_env(const std::string& name);

struct Substituted {
  std::string text;            // the result, valid when error is empty
  bool had_reference = false;  // the input held at least one ${...}
  std::string error;           // e.g. "environment variable METER_PORT is not set ..."

  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

/// Replaces every ${NAME} and ${NAME:-default} in `text`. NAME is
/// [A-Za-z_][A-Za-z0-9_]*. The default is used when the variable is unset or
/// empty (as in POSIX sh) and is taken literally up to the first `}`.
[[nodiscard]] Substituted substitute_env(std::string_view text,
                                         const EnvLookup& lookup = process_env);

}  // namespace fieldgate::config
