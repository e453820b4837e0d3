#include "drivers/serial/escape.hpp"

#include <fmt/format.h>

namespace fieldgate::serial {

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 8);
  for (const char c : bytes) {
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default: {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7f) {
          out += c;
        } else {
          out += fmt::format("\\x{:02X}", b);
        }
      }
    }
  }
  return out;
}

}  // namespace fieldgate::serial
