#include "config/topic_template.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>

namespace fieldgate::config {
namespace {

constexpr std::size_t kMaxTopicBytes = 65535;  // an MQTT UTF-8 string

enum class Placeholder { kGateway, kSite, kDevice, kPoint, kUnit };

struct PlaceholderName {
  std::string_view name;
  Placeholder placeholder;
};

constexpr std::array<PlaceholderName, 5> kPlaceholders{{
    {"gateway", Placeholder::kGateway},
    {"site", Placeholder::kSite},
    {"device", Placeholder::kDevice},
    {"point", Placeholder::kPoint},
    {"unit", Placeholder::kUnit},
}};

std::optional<Placeholder> find_placeholder(std::string_view name) {
  for (const auto& p : kPlaceholders) {
    if (p.name == name) return p.placeholder;
  }
  return std::nullopt;
}

bool allowed_in(Placeholder p, TopicScope scope) {
  switch (scope) {
    case TopicScope::kPoint:
      return true;
    case TopicScope::kDevice:
      return p != Placeholder::kPoint && p != Placeholder::kUnit;
    case TopicScope::kGateway:
      return p == Placeholder::kGateway || p == Placeholder::kSite;
  }
  return false;
}

std::string_view allowed_list(TopicScope scope) {
  switch (scope) {
    case TopicScope::kPoint:
      return "{gateway}, {site}, {device}, {point}, {unit}";
    case TopicScope::kDevice:
      return "{gateway}, {site}, {device}";
    case TopicScope::kGateway:
      return "{gateway}, {site}";
  }
  return "";
}

std::string_view value_of(Placeholder p, const TopicVars& vars) {
  switch (p) {
    case Placeholder::kGateway:
      return vars.gateway;
    case Placeholder::kSite:
      return vars.site;
    case Placeholder::kDevice:
      return vars.device;
    case Placeholder::kPoint:
      return vars.point;
    case Placeholder::kUnit:
      return vars.unit;
  }
  return {};
}

// Characters that would add a level or turn the topic into a filter.
bool changes_structure(char c) {
  return c == '/' || c == '+' || c == '#' || c == '\0';
}

}  // namespace

std::string validate_topic_template(std::string_view text, TopicScope scope) {
  if (text.empty()) return "is empty";
  if (text.size() > kMaxTopicBytes) {
    return fmt::format("is {} bytes long; MQTT allows at most {}", text.size(), kMaxTopicBytes);
  }
  if (text.front() == '$') return "starts with '$', which is reserved for the broker ($SYS)";
  if (text.front() == '/' || text.back() == '/' || text.find("//") != std::string_view::npos) {
    return "has an empty level (a leading or trailing '/', or '//')";
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' || c == '#') {
      return fmt::format("contains '{}' at column {}; wildcards are for subscribers", c, i + 1);
    }
    if (c == '\0') return fmt::format("contains a NUL character at column {}", i + 1);
    if (c == '}') {
      return fmt::format("has a '}}' without an opening '{{' at column {}", i + 1);
    }
    if (c != '{') continue;
    const std::size_t close = text.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || text[close] != '}') {
      return fmt::format("has an unclosed placeholder at column {}", i + 1);
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    const auto placeholder = find_placeholder(name);
    if (!placeholder) {
      return fmt::format("has an unknown placeholder {{{}}}; use {}", name, allowed_list(scope));
    }
    if (!allowed_in(*placeholder, scope)) {
      return fmt::format("cannot use {{{}}} here; use {}", name, allowed_list(scope));
    }
    i = close;
  }
  return {};
}

std::string expand_topic_template(std::string_view text, const TopicVars& vars) {
  std::string out;
  out.reserve(text.size() + vars.device.size() + vars.point.size() + vars.gateway.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find('{', i);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find('}', open + 1);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    const std::string_view name = text.substr(open + 1, close - open - 1);
    if (const auto placeholder = find_placeholder(name)) {
      for (char c : value_of(*placeholder, vars)) out.push_back(changes_structure(c) ? '_' : c);
    } else {
      out.append(text.substr(open, close - open + 1));  // invalid template: kept as written
    }
    i = close + 1;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace fieldgate::config
