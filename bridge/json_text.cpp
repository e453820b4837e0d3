#include "bridge/json_text.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>

namespace fieldgate::bridge {
namespace {

// True when nlohmann would copy `text` unchanged between the quotes: no
// character it escapes, and valid UTF-8. The common case (names, units,
// driver messages); anything else takes nlohmann's own escaping.
bool copies_verbatim(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == '"' || c == '\\') return false;
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view text) {
  if (copies_verbatim(text)) {
    out.push_back('"');
    out.append(text);
    out.push_back('"');
    return;
  }
  // Escapes and U+FFFD replacement are rare in payloads: one rule, nlohmann's.
  const std::string escaped = nlohmann::json(std::string(text))
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.append(std::string_view(escaped));
}

void append_json_number(fmt::memory_buffer& out, double value) {
  // nlohmann's own conversion (Grisu2, then its layout), the function its
  // serializer calls for every double: the digits stay the same byte for byte.
  std::array<char, 64> digits{};
  const char* end = nlohmann::detail::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), end);
}

void append_json_value(fmt::memory_buffer& out, const Value& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out.append(std::string_view("null"));
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(v ? std::string_view("true") : std::string_view("false"));
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          append_json_integer(out, v);
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            append_json_number(out, v);
          } else {
            out.append(std::string_view("null"));
          }
        } else {
          append_json_string(out, v);
        }
      },
      value);
}

}  // namespace fieldgate::bridge
