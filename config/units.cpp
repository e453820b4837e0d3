#include "config/units.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace fieldgate::config {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

constexpr std::array<Unit, 5> kDurationUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

constexpr std::uint64_t kKi = 1024;
constexpr std::array<Unit, 10> kSizeUnits{{
    {"B", 1},
    {"kB", 1000},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"TB", 1000ULL * 1000 * 1000 * 1000},
    {"KiB", kKi},
    {"MiB", kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"TiB", kKi* kKi* kKi* kKi},
}};

constexpr std::string_view kDurationUnitList = "ms, s, m, h or d";
constexpr std::string_view kSizeUnitList = "B, kB, MB, GB, TB, KiB, MiB, GiB or TiB";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Exact decimal arithmetic: "1.5" x 1000 must be 1500, not 1499.9999.
// `integer` and `fraction` are digit strings. Returns nullopt when the result
// does not fit or is not a whole number (`inexact` tells which). 64-bit
// arithmetic only: 32-bit targets (armhf) have no 128-bit integer type.
std::optional<std::uint64_t> scale_decimal(std::string_view integer, std::string_view fraction,
                                           std::uint64_t factor, bool& inexact) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  while (integer.size() > 1 && integer.front() == '0') integer.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (integer.size() > 20) return std::nullopt;  // above 2^64 whatever the unit
  // A fraction this long cannot come out whole with factors below 2^41.
  constexpr std::size_t kMaxFraction = 24;
  if (fraction.size() > kMaxFraction) {
    inexact = true;
    return std::nullopt;
  }
  std::uint64_t whole = 0;
  for (char c : integer) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (whole > (kMax - digit) / 10) return std::nullopt;
    whole = whole * 10 + digit;
  }
  if (factor != 0 && whole > kMax / factor) return std::nullopt;
  whole *= factor;
  // fraction x factor in base 10, least significant digit first: each step
  // is below 10 x factor + factor, far from overflowing (factors < 2^41).
  std::array<std::uint8_t, kMaxFraction + 20> product{};
  std::size_t size = 0;
  std::uint64_t carry = 0;
  for (auto it = fraction.rbegin(); it != fraction.rend(); ++it) {
    const std::uint64_t t = static_cast<std::uint64_t>(*it - '0') * factor + carry;
    product[size++] = static_cast<std::uint8_t>(t % 10);
    carry = t / 10;
  }
  for (; carry != 0; carry /= 10) product[size++] = static_cast<std::uint8_t>(carry % 10);
  // Dividing by 10^digits drops that many digits, which must all be 0.
  for (std::size_t i = 0; i < fraction.size() && i < size; ++i) {
    if (product[i] != 0) {
      inexact = true;
      return std::nullopt;
    }
  }
  std::uint64_t part = 0;  // below factor: fraction < 1
  for (std::size_t i = size; i > fraction.size(); --i) part = part * 10 + product[i - 1];
  if (whole > kMax - part) return std::nullopt;
  return whole + part;
}

// Splits "<digits>[.<digits>]<unit>", looks the unit up and scales.
template <std::size_t N>
Parsed<std::uint64_t> parse_quantity(std::string_view text, const std::array<Unit, N>& units,
                                     std::string_view unit_list, std::string_view inexact_msg,
                                     std::uint64_t max) {
  Parsed<std::uint64_t> out;
  if (text.empty()) {
    out.error = "empty";
    return out;
  }
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::string_view integer = text.substr(0, i);
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const std::size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(start, i - start);
    if (fraction.empty()) {
      out.error = "expected digits after the decimal point";
      return out;
    }
  }
  if (integer.empty()) {
    out.error =
        text.front() == '-' ? "must not be negative" : "expected a number followed by a unit";
    return out;
  }
  std::string_view unit = text.substr(i);
  if (unit.empty()) {
    out.error = "missing unit; use " + std::string(unit_list);
    return out;
  }
  if (unit.front() == ' ' || unit.front() == '\t') {
    out.error = "no space allowed between the number and the unit";
    return out;
  }
  const Unit* found = nullptr;
  for (const Unit& u : units) {
    if (u.name == unit) found = &u;
  }
  if (found == nullptr) {
    out.error = "unknown unit \"" + std::string(unit) + "\"; use " + std::string(unit_list);
    return out;
  }
  bool inexact = false;
  const auto value = scale_decimal(integer, fraction, found->factor, inexact);
  if (inexact) {
    out.error = std::string(inexact_msg);
    return out;
  }
  if (!value || *value > max) {
    out.error = "too large";
    return out;
  }
  out.value = *value;
  return out;
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
  const auto ms =
      parse_quantity(text, kDurationUnits, kDurationUnitList, "finer than a millisecond",
                     static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max()));
  Parsed<Duration> out;
  if (ms) {
    out.value = Duration{static_cast<Duration::rep>(*ms.value)};
  } else {
    out.error = ms.error;
  }
  return out;
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
  return parse_quantity(text, kSizeUnits, kSizeUnitList, "not a whole number of bytes",
                        std::numeric_limits<std::uint64_t>::max());
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0B";
  // The largest unit that divides exactly, so the text reads back to the same
  // value; the first of equal factors ("kB" before "KB").
  const Unit* best = &kSizeUnits.front();
  for (const Unit& unit : kSizeUnits) {
    if (bytes % unit.factor == 0 && unit.factor > best->factor) best = &unit;
  }
  return std::to_string(bytes / best->factor) + std::string(best->name);
}

std::string format_duration(Duration d) {
  const auto ms = d.count();
  if (ms == 0) return "0s";
  // Largest unit that divides exactly, so the text reads back to the same value.
  for (auto it = kDurationUnits.rbegin(); it != kDurationUnits.rend(); ++it) {
    const auto factor = static_cast<Duration::rep>(it->factor);
    if (ms % factor == 0) return std::to_string(ms / factor) + std::string(it->name);
  }
  return std::to_string(ms) + "ms";
}

}  // namespace fieldgate::config
