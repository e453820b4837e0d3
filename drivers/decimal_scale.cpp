#include "drivers/decimal_scale.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

namespace fieldgate {
namespace {

// 64-bit integers with overflow checks: 32-bit ARM (Raspberry Pi OS armhf)
// has no 128-bit type, and an exact result fits 2^53 anyway. An intermediate
// that overflows means plain floating point (nullopt).
using I64 = std::int64_t;

// Powers of ten that are exact doubles (10^22 is the last).
constexpr int kMaxExactPow10 = 22;
// Integers up to 2^53 are exact doubles; one division by an exact power of
// ten then gives the nearest double to the quotient (IEEE 754 rounds it).
constexpr I64 kMaxExactInteger = I64{1} << 53;

constexpr std::array<double, kMaxExactPow10 + 1> kPow10 = [] {
  std::array<double, kMaxExactPow10 + 1> p{};
  double v = 1.0;
  for (double& x : p) {
    x = v;
    v *= 10.0;
  }
  return p;
}();

/// mantissa × 10^exponent, both exact.
struct Decimal {
  I64 mantissa = 0;
  int exponent = 0;
};

// The shortest text that reads back as `x` ("0.1", "1e-05", "-2.5e+20"),
// split into an integer mantissa and a power of ten.
std::optional<Decimal> shortest_decimal(double x) {
  if (!std::isfinite(x)) return std::nullopt;
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), x);
  if (ec != std::errc{}) return std::nullopt;
  const std::string_view text(buffer.data(), static_cast<std::size_t>(end - buffer.data()));
  Decimal d;
  bool negative = false;
  std::size_t i = 0;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  bool in_fraction = false;
  for (; i < text.size() && text[i] != 'e'; ++i) {
    if (text[i] == '.') {
      in_fraction = true;
      continue;
    }
    // At most 17 significant digits in scientific notation; but to_chars
    // writes a large double in fixed notation when that is shorter, with
    // every digit of its integer value ("36893488147419103232" for 2^65).
    if (__builtin_mul_overflow(d.mantissa, 10, &d.mantissa) ||
        __builtin_add_overflow(d.mantissa, text[i] - '0', &d.mantissa)) {
      return std::nullopt;  // more than 18 digits: no exact result anyway
    }
    if (in_fraction) --d.exponent;
  }
  if (i < text.size()) {  // "e-05", "e+20"
    int e = 0;
    const char* first = text.data() + i + 1;
    if (*first == '+') ++first;
    if (std::from_chars(first, text.data() + text.size(), e).ec != std::errc{}) {
      return std::nullopt;
    }
    d.exponent += e;
  }
  // Trailing zeros go to the exponent ("1e+20" and "100000000000000000000"
  // are the same decimal).
  while (d.mantissa != 0 && d.mantissa % 10 == 0) {
    d.mantissa /= 10;
    ++d.exponent;
  }
  if (negative) d.mantissa = -d.mantissa;
  return d;
}

// value × 10^places, or nullopt when that leaves the 64-bit range.
std::optional<I64> shift(I64 value, int places) {
  for (int k = 0; k < places; ++k) {
    if (__builtin_mul_overflow(value, 10, &value)) return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<double> scale_decimal(std::int64_t digits, int raw_decimals, double scale,
                                    double offset) {
  const auto s = shortest_decimal(scale);
  const auto o = shortest_decimal(offset);
  if (!s || !o || raw_decimals < 0) return std::nullopt;
  // raw × scale = (digits × s.mantissa) × 10^(s.exponent - raw_decimals).
  const int product_exponent = s->exponent - raw_decimals;
  // A zero offset adds no decimal places.
  const int exponent =
      o->mantissa == 0 ? product_exponent : std::min(product_exponent, o->exponent);
  if (exponent < -kMaxExactPow10 || exponent > kMaxExactPow10) return std::nullopt;
  I64 raw_product = 0;
  if (__builtin_mul_overflow(digits, s->mantissa, &raw_product)) return std::nullopt;
  const auto product = shift(raw_product, product_exponent - exponent);
  const auto added = shift(o->mantissa, o->exponent - exponent);
  I64 total = 0;  // the result in units of 10^exponent
  if (!product || !added || __builtin_add_overflow(*product, *added, &total)) return std::nullopt;
  if (total > kMaxExactInteger || total < -kMaxExactInteger) return std::nullopt;
  const double units = static_cast<double>(total);  // exact
  if (exponent >= 0) {
    const double value = units * kPow10[static_cast<std::size_t>(exponent)];
    // Exact only while the product stays an integer below 2^53.
    if (std::abs(value) > static_cast<double>(kMaxExactInteger)) return std::nullopt;
    return value;
  }
  return units / kPow10[static_cast<std::size_t>(-exponent)];
}

std::optional<DecimalText> parse_decimal_text(std::string_view text) {
  constexpr int kMaxDigits = 18;  // always fits an int64
  DecimalText out;
  bool negative = false;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  int count = 0;
  bool in_fraction = false;
  bool any = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !in_fraction) {
      in_fraction = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    any = true;
    // Leading zeros cost nothing; trailing fraction zeros are still digits.
    if (out.digits != 0 || c != '0') ++count;
    if (count > kMaxDigits) return std::nullopt;
    out.digits = out.digits * 10 + (c - '0');
    if (in_fraction) ++out.decimals;
  }
  if (!any) return std::nullopt;
  if (negative) out.digits = -out.digits;
  return out;
}

}  // namespace fieldgate
