// Fuzz target: durations and sizes (config/units.*): parse_duration,
// parse_size and their inverses format_duration, format_size.
//
// Input: the text as is; its first 8 bytes also as a number for the formatters.
//
// Checks: parsing never fails without a message; what parses formats to a
// spelling that parses back to the same value, and any value formats to a
// spelling that parses back to it (durations: any non-negative count).
#include <cstdint>
#include <string>
#include <string_view>

#include "config/units.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace fieldgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto duration = config::parse_duration(text);
  FUZZ_CHECK(duration.value.has_value() == duration.error.empty());
  if (duration) {
    FUZZ_CHECK(duration.value->count() >= 0);
    const auto back = config::parse_duration(config::format_duration(*duration.value));
    FUZZ_CHECK(back && *back.value == *duration.value);
  }
  const auto bytes = config::parse_size(text);
  FUZZ_CHECK(bytes.value.has_value() == bytes.error.empty());
  if (bytes) {
    const auto back = config::parse_size(config::format_size(*bytes.value));
    FUZZ_CHECK(back && *back.value == *bytes.value);
  }

  fuzz::FuzzInput in(data, size);
  const std::uint64_t n = in.u64();
  const auto size_back = config::parse_size(config::format_size(n));
  FUZZ_CHECK(size_back && *size_back.value == n);
  const config::Duration d{static_cast<config::Duration::rep>(n >> 1)};  // non-negative
  const auto duration_back = config::parse_duration(config::format_duration(d));
  FUZZ_CHECK(duration_back && *duration_back.value == d);
  return 0;
}
