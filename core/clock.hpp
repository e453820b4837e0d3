// The wall clock as the rest of fieldgate counts it: Unix time in milliseconds
// (a reading's timestamp, a command's age, the store's meta), and its UTC text.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace fieldgate {

/// Milliseconds since 1970-01-01T00:00:00Z, now.
[[nodiscard]] inline std::int64_t unix_ms_now() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A Unix time cut into UTC calendar fields (proleptic Gregorian calendar).
/// Exact for every int64 millisecond, before 1970 and past 2038 alike, on
/// 32-bit systems too: no time_t, no gmtime.
struct UtcTime {
  std::int64_t year;
  int month;   // 1..12
  int day;     // 1..31
  int hour;    // 0..23
  int minute;  // 0..59
  int second;  // 0..59
  int millis;  // 0..999
};
[[nodiscard]] UtcTime utc_time(std::int64_t unix_ms) noexcept;

/// ISO 8601 with milliseconds, "2026-11-25T12:38:18.543Z", appended to `out`.
/// Years before 0000 are "-0001" and on; years past 9999 have five digits or
/// more, unsigned.
void append_iso8601(fmt::memory_buffer& out, std::int64_t unix_ms);
[[nodiscard]] std::string iso8601(std::int64_t unix_ms);

/// The compact ISO 8601 basic form to the second, "20261125T123818Z", for
/// file names.
[[nodiscard]] std::string iso8601_basic(std::int64_t unix_ms);

}  // namespace fieldgate
