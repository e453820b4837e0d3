// Fuzz target: escape_bytes() (drivers/serial/escape.*), which shows the
// bytes a serial device sent in `poll --raw` and the status.
//
// Input: the bytes as is.
//
// Checks: the output is printable ASCII only (no byte of the input can mess
// up a terminal or a JSON string), and it is unambiguous: reading the escapes
// back (a reference unescape, here) gives exactly the input.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/serial/escape.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // escape_bytes writes upper case only
}

std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i >= text.size()) return std::nullopt;
    switch (text[i]) {
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'x': {
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = hex_digit(text[i + 1]);
        const int lo = hex_digit(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string escaped = fieldgate::serial::escape_bytes(bytes);
  for (const char c : escaped) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  const auto back = unescape(escaped);
  FUZZ_CHECK(back && *back == bytes);
  return 0;
}
