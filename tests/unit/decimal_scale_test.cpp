// Scaled values are the exact decimal the raw count and the scale (and
// offset) as written mean: 353 × 0.1 is 35.3, printed "35.3", never
// 35.300000000000004 (issue 14, E22). The oracle here is independent of the
// implementation: the exact result is built as decimal text with integer
// arithmetic and read back by the standard library, which rounds correctly.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "drivers/decimal_scale.hpp"
#include "drivers/modbus/codec.hpp"
#include "drivers/serial/parser.hpp"
#include "drivers/serial/settings.hpp"

namespace fieldgate {
namespace {

// 64 bits are plenty for the values below (the largest is about 10^16), and
// 32-bit ARM has no 128-bit type; checked, so the oracle itself cannot wrap.
using I64 = std::int64_t;

I64 checked_mul(I64 a, I64 b) {
  I64 r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    ADD_FAILURE() << "test oracle overflow: " << a << " x " << b;
  return r;
}

// A decimal as written in a configuration: "0.25" = 25 × 10^-2.
struct Written {
  std::string text;
  I64 mantissa;
  int decimals;
};

std::string to_text(I64 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  std::string digits;
  for (I64 x = negative ? -v : v; x > 0; x /= 10) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(x % 10)));
  }
  return (negative ? "-" : "") + digits;
}

// `units` × 10^-decimals as plain decimal text without trailing zeros.
std::string decimal_text(I64 units, int decimals) {
  const bool negative = units < 0;
  std::string digits = to_text(negative ? -units : units);
  if (decimals > 0) {
    if (static_cast<int>(digits.size()) <= decimals) {
      digits.insert(0, static_cast<std::size_t>(decimals) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<std::size_t>(decimals), ".");
    while (digits.back() == '0') digits.pop_back();
    if (digits.back() == '.') digits.pop_back();
  }
  if (digits == "0") return "0";
  return (negative ? "-" : "") + digits;
}

double parse(const std::string& text) {
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// raw × scale + offset, exactly, as decimal text.
std::string exact(std::int64_t raw, const Written& scale, const Written& offset) {
  const int decimals = std::max(scale.decimals, offset.decimals);
  I64 units = checked_mul(raw, scale.mantissa);
  for (int i = scale.decimals; i < decimals; ++i) units = checked_mul(units, 10);
  I64 off = offset.mantissa;
  for (int i = offset.decimals; i < decimals; ++i) off = checked_mul(off, 10);
  return decimal_text(units + off, decimals);
}

const std::vector<Written> kScales{
    {"0.1", 1, 1},   {"0.01", 1, 2},    {"0.001", 1, 3},   {"0.5", 5, 1},  {"0.25", 25, 2},
    {"10", 10, 0},   {"0.00001", 1, 5}, {"0.125", 125, 3}, {"2.5", 25, 1}, {"100", 100, 0},
    {"-0.1", -1, 1}, {"0.2", 2, 1},     {"0.0001", 1, 4},  {"1.8", 18, 1}, {"0.000001", 1, 6},
};
const std::vector<Written> kOffsets{
    {"0", 0, 0}, {"-273.1", -2731, 1}, {"0.5", 5, 1}, {"12.25", 1225, 2}, {"-40", -40, 0}};

std::vector<std::int64_t> raw_values() {
  std::vector<std::int64_t> raws;
  for (std::int64_t r = -3000; r <= 3000; ++r) raws.push_back(r);
  for (std::int64_t r : {32767LL, -32768LL, 65535LL, 2147483647LL, -2147483648LL, 4294967295LL,
                         123456789LL, 987654321012LL, 4503599627370LL}) {
    raws.push_back(r);
  }
  return raws;
}

TEST(DecimalScale, EveryScaledCountIsTheDoubleNearestItsExactDecimal) {
  int checked = 0;
  for (const Written& scale : kScales) {
    for (const Written& offset : kOffsets) {
      const double s = parse(scale.text);
      const double o = parse(offset.text);
      for (const std::int64_t raw : raw_values()) {
        const std::string want = exact(raw, scale, offset);
        const Value got = modbus::apply_scale(raw, s, o);
        ASSERT_TRUE(std::holds_alternative<double>(got));
        ASSERT_EQ(std::get<double>(got), parse(want))
            << raw << " x " << scale.text << " + " << offset.text << " = " << want << ", got "
            << fmt::format("{}", std::get<double>(got));
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 400000);
}

TEST(DecimalScale, PrintedValuesAreTheDecimalNotBinaryNoise) {
  const auto printed = [](std::int64_t raw, double scale, double offset) {
    return fmt::format("{}", std::get<double>(modbus::apply_scale(raw, scale, offset)));
  };
  EXPECT_EQ(printed(353, 0.1, 0.0), "35.3");  // was 35.300000000000004
  EXPECT_EQ(printed(2731, 0.1, -273.1), "0");
  EXPECT_EQ(printed(2982, 0.1, -273.1), "25.1");
  EXPECT_EQ(printed(1234, 0.01, 0.0), "12.34");
  EXPECT_EQ(printed(7, 0.25, 0.0), "1.75");
  EXPECT_EQ(printed(3, 0.001, 0.0), "0.003");
  EXPECT_EQ(printed(4200155, 0.001, 0.0), "4200.155");
  EXPECT_EQ(printed(-17, 0.1, 0.0), "-1.7");
  EXPECT_EQ(printed(1, 0.00001, 0.0), "1e-05");  // the shortest text of 0.00001
  // Over many raw values, in fixed notation the print is the decimal itself.
  for (const Written& scale : kScales) {
    for (std::int64_t raw = -1000; raw <= 1000; ++raw) {
      const std::string want = exact(raw, scale, kOffsets[0]);
      const double v = parse(want);
      if (v != 0 && (std::abs(v) < 1e-4 || std::abs(v) >= 1e15)) continue;  // exponent form
      EXPECT_EQ(printed(raw, parse(scale.text), 0.0), want) << raw << " x " << scale.text;
    }
  }
}

TEST(DecimalScale, UnscaledAndFloatValuesAreUntouched) {
  // Identity keeps an integer an integer, even above 2^53.
  const std::int64_t big = (std::int64_t{1} << 60) + 1;
  EXPECT_EQ(modbus::apply_scale(big, 1.0, 0.0), Value(big));
  EXPECT_EQ(modbus::apply_scale(std::int64_t{353}, 1.0, 0.0), Value(std::int64_t{353}));
  // A float's raw value carries its own digits: no rounding to the scale's.
  const double noisy = 0.1 + 0.2;  // 0.30000000000000004
  EXPECT_EQ(modbus::apply_scale(noisy, 1.0, 0.0), Value(noisy));
  const double f32 = static_cast<double>(35.37f);
  EXPECT_EQ(modbus::apply_scale(f32, 0.1, 0.0), Value(f32 * 0.1));
}

TEST(DecimalScale, BeyondExactArithmeticFallsBackToFloatingPoint) {
  // 2^62 × 0.1 needs more digits than a double holds: plain arithmetic, no error.
  const std::int64_t huge = std::int64_t{1} << 62;
  EXPECT_EQ(scale_decimal(huge, 0, 0.1, 0.0), std::nullopt);
  EXPECT_EQ(modbus::apply_scale(huge, 0.1, 0.0), Value(static_cast<double>(huge) * 0.1));
  EXPECT_EQ(scale_decimal(5, 0, 1e-30, 0.0), std::nullopt);
  EXPECT_EQ(scale_decimal(5, 0, 0.1, std::numeric_limits<double>::quiet_NaN()), std::nullopt);
  EXPECT_EQ(scale_decimal(5, 0, 1.0 / 3.0, 0.0), std::nullopt);  // 0.3333333333333333 × 5
  EXPECT_EQ(scale_decimal(3, 0, 1e20, 0.0), std::nullopt);       // beyond 2^53
  EXPECT_EQ(scale_decimal(3, 0, 1e10, 0.0), 3e10);
  // to_chars writes 2^65 in fixed notation, all 20 digits: times a 63-bit raw
  // value that overflowed 128 bits (found by the modbus_codec fuzz target).
  EXPECT_EQ(scale_decimal(std::numeric_limits<std::int64_t>::max(), 0, 36893488147419103232.0, 0.0),
            std::nullopt);
  EXPECT_EQ(scale_decimal(std::numeric_limits<std::int64_t>::min(), 0, -3.6893488147419103e19, 0.0),
            std::nullopt);
  EXPECT_EQ(scale_decimal(2, 0, 36893488147419103232.0, 0.0), std::nullopt);  // beyond 2^53
  EXPECT_EQ(scale_decimal(7, 0, 1e15, 0.0), 7e15);
  // A product near 2^125 shifted a place for the offset's decimals.
  EXPECT_EQ(scale_decimal(std::numeric_limits<std::int64_t>::max(), 0, 4611686018427387904.0, 0.5),
            std::nullopt);
}

TEST(DecimalScale, DecimalTextIsReadExactly) {
  EXPECT_EQ(parse_decimal_text("-12.50")->digits, -1250);
  EXPECT_EQ(parse_decimal_text("-12.50")->decimals, 2);
  EXPECT_EQ(parse_decimal_text("+7")->digits, 7);
  EXPECT_EQ(parse_decimal_text("000123.4")->digits, 1234);
  EXPECT_FALSE(parse_decimal_text("1e5"));
  EXPECT_FALSE(parse_decimal_text("inf"));
  EXPECT_FALSE(parse_decimal_text(""));
  EXPECT_FALSE(parse_decimal_text("."));
  EXPECT_FALSE(parse_decimal_text("1.2.3"));
  EXPECT_FALSE(parse_decimal_text("1234567890123456789"));  // 19 digits
}

TEST(DecimalScale, SerialTextIsScaledInDecimalToo) {
  config::PointConfig point;
  point.scale = 0.1;
  serial::edit_point_of(point).type = serial::SerialValueType::kInt;
  EXPECT_EQ(fmt::format("{}", std::get<double>(serial::convert("353", point).value)), "35.3");
  serial::edit_point_of(point).type = serial::SerialValueType::kNumber;
  EXPECT_EQ(fmt::format("{}", std::get<double>(serial::convert(" 35.37 ", point).value)), "3.537");
  point.scale = 1.0;  // unscaled: the text's own double, untouched
  EXPECT_EQ(std::get<double>(serial::convert("0.30000000000000004", point).value),
            0.30000000000000004);
  point.scale = 0.01;
  point.offset = -40;
  EXPECT_EQ(fmt::format("{}", std::get<double>(serial::convert("6543", point).value)), "25.43");
}

}  // namespace
}  // namespace fieldgate
