#include "config/env.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

namespace fieldgate::config {
namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Substituted substitute_env(std::string_view text, const EnvLookup& lookup) {
  Substituted out;
  out.text.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
      out.text += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      out.text += '$';
      i += 2;
      continue;
    }
    // "${" ... "}"
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.error = "unterminated \"${\" (write \"$$\" for a literal \"$\")";
      return out;
    }
    const std::string_view body = text.substr(i + 2, close - i - 2);
    const std::size_t sep = body.find(":-");
    const std::string_view name = body.substr(0, sep);
    bool valid_name = !name.empty() && is_name_start(name.front());
    for (char n : name) valid_name = valid_name && is_name_char(n);
    if (!valid_name) {
      out.error = "invalid variable reference \"${" + std::string(body) +
                  "}\" (expected ${NAME} or ${NAME:-default}, NAME of letters, digits and _)";
      return out;
    }
    out.had_reference = true;
    const std::optional<std::string> value = lookup(std::string(name));
    if (sep != std::string_view::npos) {
      const std::string_view fallback = body.substr(sep + 2);
      if (fallback.find("${") != std::string_view::npos) {
        out.error = "nested \"${\" in the default of ${" + std::string(name) + "} is not supported";
        return out;
      }
      out.text += (value && !value->empty()) ? std::string_view(*value) : fallback;
    } else if (value) {
      out.text += *value;
    } else {
      out.error = "environment variable " + std::string(name) + " is not set (write ${" +
                  std::string(name) + ":-default} to give a default)";
      return out;
    }
    i = close + 1;
  }
  return out;
}

}  // namespace fieldgate::config
