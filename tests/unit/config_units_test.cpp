// Durations and sizes as written in configuration files (config/units.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "config/units.hpp"
#include "tests/unit/units_test_support.hpp"

namespace fieldgate::config {
namespace {

using std::chrono::milliseconds;

milliseconds duration_ok(const std::string& text) {
  const Parsed<Duration> parsed = parse_duration(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error;
  return parsed.value.value_or(milliseconds{-1});
}

std::string duration_error(const std::string& text) {
  const Parsed<Duration> parsed = parse_duration(text);
  EXPECT_FALSE(parsed) << text << " parsed as " << parsed.value.value_or(milliseconds{}).count();
  return parsed.error;
}

TEST(ConfigDurationTest, ParsesEveryUnit) {
  EXPECT_EQ(duration_ok("250ms"), milliseconds{250});
  EXPECT_EQ(duration_ok("2s"), milliseconds{2000});
  EXPECT_EQ(duration_ok("5m"), milliseconds{5 * 60 * 1000});
  EXPECT_EQ(duration_ok("1h"), milliseconds{60 * 60 * 1000});
  EXPECT_EQ(duration_ok("7d"), milliseconds{7LL * 24 * 60 * 60 * 1000});
  EXPECT_EQ(duration_ok("0s"), milliseconds{0});
  EXPECT_EQ(duration_ok("0ms"), milliseconds{0});
}

TEST(ConfigDurationTest, ParsesDecimalsExactly) {
  EXPECT_EQ(duration_ok("1.5s"), milliseconds{1500});
  EXPECT_EQ(duration_ok("0.25s"), milliseconds{250});
  EXPECT_EQ(duration_ok("0.001s"), milliseconds{1});
  EXPECT_EQ(duration_ok("1.5h"), milliseconds{90 * 60 * 1000});
  EXPECT_EQ(duration_ok("0.1m"), milliseconds{6000});
  EXPECT_EQ(duration_ok("1.5d"), milliseconds{36 * 60 * 60 * 1000});
  // Trailing zeros do not make a value "finer than a millisecond".
  EXPECT_EQ(duration_ok("2.5000000000000000000000000s"), milliseconds{2500});
  EXPECT_EQ(duration_ok("007s"), milliseconds{7000});
}

TEST(ConfigDurationTest, RejectsBareNumbersWithAHintToAddAUnit) {
  EXPECT_EQ(duration_error("1000"), "missing unit; use ms, s, m, h or d");
  EXPECT_EQ(duration_error("1.5"), "missing unit; use ms, s, m, h or d");
}

TEST(ConfigDurationTest, RejectsMalformedText) {
  EXPECT_EQ(duration_error(""), "empty");
  EXPECT_EQ(duration_error("2x"), "unknown unit \"x\"; use ms, s, m, h or d");
  EXPECT_EQ(duration_error("2sec"), "unknown unit \"sec\"; use ms, s, m, h or d");
  EXPECT_EQ(duration_error("2S"), "unknown unit \"S\"; use ms, s, m, h or d");
  EXPECT_EQ(duration_error("2D"), "unknown unit \"D\"; use ms, s, m, h or d");
  EXPECT_EQ(duration_error("1w"), "unknown unit \"w\"; use ms, s, m, h or d");
  EXPECT_EQ(duration_error("2 s"), "no space allowed between the number and the unit");
  EXPECT_EQ(duration_error("-1s"), "must not be negative");
  EXPECT_EQ(duration_error("s"), "expected a number followed by a unit");
  EXPECT_EQ(duration_error(".5s"), "expected a number followed by a unit");
  EXPECT_EQ(duration_error("1.s"), "expected digits after the decimal point");
  EXPECT_EQ(duration_error("1e3ms"), "unknown unit \"e3ms\"; use ms, s, m, h or d");
  EXPECT_EQ(duration_error("1m30s"), "unknown unit \"m30s\"; use ms, s, m, h or d");
  EXPECT_EQ(duration_error(" 1s"), "expected a number followed by a unit");
}

TEST(ConfigDurationTest, RejectsSubMillisecondAndOverflow) {
  EXPECT_EQ(duration_error("0.5ms"), "finer than a millisecond");
  EXPECT_EQ(duration_error("1.0001s"), "finer than a millisecond");
  EXPECT_EQ(duration_error("99999999999999999999h"), "too large");
  EXPECT_EQ(duration_error("9223372036854775808ms"), "too large");
  EXPECT_EQ(duration_ok("9223372036854775807ms"), milliseconds::max());
}

TEST(ConfigDurationTest, FormatsTheShortestExactSpelling) {
  EXPECT_EQ(format_duration(milliseconds{0}), "0s");
  EXPECT_EQ(format_duration(milliseconds{250}), "250ms");
  EXPECT_EQ(format_duration(milliseconds{1500}), "1500ms");
  EXPECT_EQ(format_duration(milliseconds{90000}), "90s");
  EXPECT_EQ(format_duration(milliseconds{120000}), "2m");
  EXPECT_EQ(format_duration(milliseconds{7200000}), "2h");
  EXPECT_EQ(format_duration(milliseconds{7LL * 24 * 3600 * 1000}), "7d");
  EXPECT_EQ(format_duration(milliseconds{36LL * 3600 * 1000}), "36h");  // 1.5d is not whole
  for (const char* text : {"250ms", "90s", "2m", "2h", "1500ms", "7d", "25h"}) {
    EXPECT_EQ(format_duration(duration_ok(text)), text);
  }
}

TEST(ConfigSizeTest, ParsesDecimalAndBinaryUnits) {
  EXPECT_EQ(size_ok("100B"), 100u);
  EXPECT_EQ(size_ok("10kB"), 10'000u);
  EXPECT_EQ(size_ok("10KB"), 10'000u);
  EXPECT_EQ(size_ok("10MB"), 10'000'000u);
  EXPECT_EQ(size_ok("2GB"), 2'000'000'000u);
  EXPECT_EQ(size_ok("1TB"), 1'000'000'000'000u);
  EXPECT_EQ(size_ok("512KiB"), 512u * 1024);
  EXPECT_EQ(size_ok("256MiB"), 256u * 1024 * 1024);
  EXPECT_EQ(size_ok("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(size_ok("2TiB"), 2ULL * 1024 * 1024 * 1024 * 1024);
  EXPECT_EQ(size_ok("0B"), 0u);
}

TEST(ConfigSizeTest, ParsesDecimalsWhenTheResultIsWholeBytes) {
  EXPECT_EQ(size_ok("1.5GiB"), 1536ULL * 1024 * 1024);
  EXPECT_EQ(size_ok("0.5KiB"), 512u);
  EXPECT_EQ(size_ok("2.5MB"), 2'500'000u);
  EXPECT_EQ(size_error("1.5B"), "not a whole number of bytes");
  EXPECT_EQ(size_error("0.0001KiB"), "not a whole number of bytes");
}

TEST(ConfigSizeTest, RejectsMissingOrUnknownUnits) {
  const std::string units = "B, kB, MB, GB, TB, KiB, MiB, GiB or TiB";
  EXPECT_EQ(size_error("1024"), "missing unit; use " + units);
  EXPECT_EQ(size_error("10mb"), "unknown unit \"mb\"; use " + units);
  EXPECT_EQ(size_error("10Mb"), "unknown unit \"Mb\"; use " + units);
  EXPECT_EQ(size_error("10MIB"), "unknown unit \"MIB\"; use " + units);
  EXPECT_EQ(size_error("10 MiB"), "no space allowed between the number and the unit");
  EXPECT_EQ(size_error(""), "empty");
  EXPECT_EQ(size_error("-1MiB"), "must not be negative");
  EXPECT_EQ(size_error("MiB"), "expected a number followed by a unit");
}

TEST(ConfigSizeTest, FormatsTheShortestExactSpelling) {
  EXPECT_EQ(format_size(0), "0B");
  EXPECT_EQ(format_size(1000), "1kB");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(1536), "1536B");  // 1.5KiB, but not a whole number of KiB
  EXPECT_EQ(format_size(1024 * 1024), "1MiB");
  EXPECT_EQ(format_size(64'000'000), "64MB");
  EXPECT_EQ(format_size(256ULL * 1024 * 1024), "256MiB");
  EXPECT_EQ(format_size(3ULL << 40), "3TiB");
  EXPECT_EQ(format_size(1023), "1023B");
  for (const char* text : {"1MiB", "64MB", "1023B", "2GiB", "5TB", "3kB"}) {
    EXPECT_EQ(format_size(size_ok(text)), text);
  }
}

TEST(ConfigSizeTest, RejectsValuesBeyond64Bits) {
  EXPECT_EQ(size_ok("18446744073709551615B"), 18446744073709551615ULL);
  EXPECT_EQ(size_error("18446744073709551616B"), "too large");
  EXPECT_EQ(size_error("16777216TiB"), "too large");  // 2^64 bytes
  EXPECT_EQ(size_ok("16777215TiB"), 16777215ULL << 40);
}

}  // namespace
}  // namespace fieldgate::config
