#include "core/clock.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace fieldgate {
namespace {

TEST(ClockTest, Iso8601IsUtcWithMilliseconds) {
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(1795601234567), "2026-11-25T10:07:14.567Z");
  EXPECT_EQ(iso8601_basic(1795601234567), "20261125T100714Z");
}

TEST(ClockTest, TimesBefore1970CountBackFromTheEpochWithoutNegativeFields) {
  EXPECT_EQ(iso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(iso8601(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(iso8601(-1001), "1969-12-31T23:59:58.999Z");
  // 1900 was not a leap year: 1900-03-01 follows 1900-02-28.
  EXPECT_EQ(iso8601(-2203891200000), "1900-03-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(-2203891200001), "1900-02-28T23:59:59.999Z");
}

TEST(ClockTest, LeapDaysAndThe2038BoundaryOf32BitTime) {
  EXPECT_EQ(iso8601(951782400000), "2000-02-29T00:00:00.000Z");  // 2000 was a leap year
  EXPECT_EQ(iso8601(2147483647000), "2038-01-19T03:14:07.000Z");
  EXPECT_EQ(iso8601(2147483648000), "2038-01-19T03:14:08.000Z");
  EXPECT_EQ(iso8601(4107542400000), "2100-03-01T00:00:00.000Z");  // 2100 is not
}

TEST(ClockTest, YearsOutsideFourDigitsAndEveryInt64Format) {
  EXPECT_EQ(iso8601(-62167219200000), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(-62167219200001), "-0001-12-31T23:59:59.999Z");
  EXPECT_EQ(iso8601(253402300800000), "10000-01-01T00:00:00.000Z");
  const auto max = std::numeric_limits<std::int64_t>::max();
  const auto min = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(iso8601(max), "292278994-08-17T07:12:55.807Z");
  EXPECT_EQ(iso8601(min), "-292275055-05-16T16:47:04.192Z");
}

// The text of years 0 to 9999 is written digit by digit; it must say what
// the UTC fields say, at every position, for any time of any day.
TEST(ClockTest, Iso8601SaysWhatTheUtcFieldsSay) {
  EXPECT_EQ(iso8601(253402300799999), "9999-12-31T23:59:59.999Z");  // the last four-digit year
  for (std::int64_t ms = -62167219200000; ms < 253402300800000; ms += 7'777'777'777 + 123) {
    const UtcTime t = utc_time(ms);
    ASSERT_EQ(iso8601(ms), fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", t.year,
                                       t.month, t.day, t.hour, t.minute, t.second, t.millis))
        << ms;
  }
}

TEST(ClockTest, UtcFieldsAreAlwaysInRange) {
  for (std::int64_t ms : {std::int64_t{-86'400'001}, std::int64_t{-1}, std::int64_t{0},
                          std::int64_t{86'399'999}, std::int64_t{1'795'601'234'567}}) {
    const UtcTime t = utc_time(ms);
    EXPECT_GE(t.month, 1);
    EXPECT_LE(t.month, 12);
    EXPECT_GE(t.day, 1);
    EXPECT_LE(t.day, 31);
    EXPECT_GE(t.hour, 0);
    EXPECT_LE(t.hour, 23);
    EXPECT_GE(t.millis, 0);
    EXPECT_LE(t.millis, 999) << ms;
  }
}

TEST(ClockTest, NowIsTheSystemClockInMilliseconds) {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto now = unix_ms_now();
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace fieldgate
