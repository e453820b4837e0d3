// raw × scale + offset in decimal, for the drivers' `scale` and `offset`.
//
// In binary floating point, 353 × 0.1 is 35.300000000000004: 0.1 has no exact
// double. But the user wrote "0.1", and a raw count of 353 in tenths means
// 35.3, exactly. The scale and offset as written (the shortest text that
// reads back as the same double) say how many decimal places the result has;
// computed as integers in those units, then divided once, the result is the
// double nearest the exact decimal, which prints as the decimal.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace fieldgate {

/// The double nearest to raw × scale + offset, where raw = digits × 10^-raw_decimals,
/// and scale and offset are taken as the decimals that they print as
/// (shortest round-trip text). nullopt when that is beyond exact integer
/// arithmetic (more than 15 significant digits, a scale such as 1e-30, NaN):
/// the caller then uses plain floating point, which is as exact as it gets there.
[[nodiscard]] std::optional<double> scale_decimal(std::int64_t digits, int raw_decimals,
                                                  double scale, double offset);

/// A plain decimal number as text ("-12.50", "+7", " 3.1 " is not one): its
/// digits and decimal places, for scale_decimal(). nullopt for anything else
/// (an exponent, "inf", more than 18 digits).
struct DecimalText {
  std::int64_t digits = 0;
  int decimals = 0;
};
[[nodiscard]] std::optional<DecimalText> parse_decimal_text(std::string_view text);

}  // namespace fieldgate
