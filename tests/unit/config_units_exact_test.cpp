// Sizes and durations with long decimal fractions come out exact on every
// target: the scaling uses 64-bit arithmetic only (32-bit armhf has no
// 128-bit integer type, which the first version used).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "config/units.hpp"
#include "tests/unit/units_test_support.hpp"

namespace fieldgate::config {
namespace {

TEST(ConfigUnitsExactTest, LongFractionsOfBinaryUnitsAreExact) {
  // 2^-20 MiB is one byte: 20 fraction digits, more than 64 bits hold.
  EXPECT_EQ(size_ok("0.00000095367431640625MiB"), 1u);
  EXPECT_EQ(size_ok("1.00000095367431640625MiB"), (1u << 20) + 1);
  EXPECT_EQ(size_ok("15.99999904632568359375TiB"), (16ULL << 40) - (1ULL << 20));
  EXPECT_EQ(size_error("0.00000095367431640626MiB"), "not a whole number of bytes");
  EXPECT_EQ(size_error("0.00000095367431640624MiB"), "not a whole number of bytes");
}

TEST(ConfigUnitsExactTest, TheLast64BitValuesWithAFractionFitAndOneMoreDoesNot) {
  EXPECT_EQ(size_ok("16777215.99999904632568359375TiB"), 0ULL - (1ULL << 20));  // 2^64 - 2^20
  EXPECT_EQ(size_error("16777216.00000095367431640625TiB"), "too large");
  EXPECT_EQ(size_ok("18446744073709551.615kB"), 18446744073709551615ULL);
  EXPECT_EQ(size_error("18446744073709551.616kB"), "too large");
}

TEST(ConfigUnitsExactTest, DurationFractionsAreExact) {
  const auto a = parse_duration("1.00000125d");  // 86,400,000 + 108 ms
  ASSERT_TRUE(a) << a.error;
  EXPECT_EQ(a.value->count(), 86'400'108);
  const auto b = parse_duration("0.0125m");
  ASSERT_TRUE(b) << b.error;
  EXPECT_EQ(b.value->count(), 750);
  EXPECT_FALSE(parse_duration("1.000001d"));  // 86.4 ms more: not whole milliseconds
}

}  // namespace
}  // namespace fieldgate::config
