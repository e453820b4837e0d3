// Durations ("250ms", "1.5s") and byte sizes ("256MiB") as written in the
// configuration file. Plain functions without exceptions, so the loader can
// collect every problem and callers outside the loader can reuse them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::config {

/// A parsed value, or why the text is not one.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // set when !value, e.g. `unknown unit "sec"; use ms, s, m, h or d`

  [[nodiscard]] explicit operator bool() const noexcept { return value.has_value(); }
};

/// "<number><unit>" with unit ms, s, m, h or d (24 h); the number is an integer or a
/// decimal ("1.5s"). No sign, no space, no exponent. The result must be a whole
/// number of milliseconds ("0.5ms" is rejected rather than rounded).
[[nodiscard]] Parsed<Duration> parse_duration(std::string_view text);

/// "<number><unit>" with unit B, kB (= KB), MB, GB, TB (powers of 1000) or KiB,
/// MiB, GiB, TiB (powers of 1024); the number may be decimal ("1.5GiB") if the
/// result is a whole number of bytes. The unit is required.
[[nodiscard]] Parsed<std::uint64_t> parse_size(std::string_view text);

/// The shortest exact spelling parse_duration() reads back: "7d", "1h", "90s", "250ms".
[[nodiscard]] std::string format_duration(Duration d);

/// The shortest exact spelling parse_size() reads back: "1MiB", "64MB", "1000B".
[[nodiscard]] std::string format_size(std::uint64_t bytes);

}  // namespace fieldgate::config
