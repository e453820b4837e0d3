#include "gateway/utf8.hpp"

#include "core/reading.hpp"

namespace fieldgate::gateway {

std::size_t utf8_sequence(std::string_view text, char32_t& code_point) noexcept {
  // One validator for the whole program (drivers/reading); here only decoding.
  const std::size_t n = fieldgate::utf8_sequence(text, 0);
  if (n == 0) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  constexpr unsigned char kLeadBits[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t cp = byte(0) & kLeadBits[n];
  for (std::size_t i = 1; i < n; ++i) cp = (cp << 6) | (byte(i) & 0x3F);
  code_point = cp;
  return n;
}

std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t n = fieldgate::utf8_sequence(text, at);
    if (n == 0) return at;
    at += n;
  }
  return std::nullopt;
}

}  // namespace fieldgate::gateway
