#include "config/toml_section.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <sstream>
#include <system_error>

#include "config/env.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"

namespace fieldgate::config {
namespace {

constexpr std::string_view kDurationExpected =
    "a duration such as \"500ms\", \"2s\", \"5m\" or \"1h\"";
constexpr std::string_view kSizeExpected = "a size such as \"64MiB\" or \"1GiB\"";

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

SourcePos pos_of(const toml::source_region& region) {
  return {static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string quote(std::string_view s) {
  return fmt::format("{:?}", s);
}

std::string describe(const toml::node& node) {
  if (const auto* text = node.as_string()) return "string " + quote(text->get());
  if (node.is_table() || node.is_array()) return node.is_table() ? "table" : "array";
  std::ostringstream os;
  if (node.is_floating_point()) {
    os << "float";  // toml++ says "floating-point"; TOML users say float
  } else {
    os << node.type();
  }
  os << ' ';
  node.visit([&os](const auto& value) {
    if constexpr (toml::is_value<decltype(value)>) os << value;
  });
  return os.str();
}

Section::Section(Diagnostics& diag, const toml::table& table, std::string path, Keys known)
    : diag_(diag), table_(table), path_(std::move(path)), known_(known) {
  pos_ = pos_of(table.source());
  if (pos_.line == 0) pos_ = {1, 1};  // the root table of an empty file
}

template <class T, class Parse>
std::optional<T> Section::from_env(std::string_view key, const toml::node& node,
                                   std::string_view expected, Parse parse) {
  if (node.is_string()) {
    const std::string_view raw = node.as_string()->get();
    Substituted sub = substitute_env(raw);
    if (!sub.ok()) {
      report(key, std::move(sub.error));
      return std::nullopt;
    }
    if (sub.had_reference) {
      if (auto value = parse(sub.text)) return ok(key, *value);
      report(key, fmt::format("expected {}, got {} (after substituting {})", expected,
                              quote(sub.text), quote(raw)));
      return std::nullopt;
    }
    if (parse(sub.text)) {
      report(key, fmt::format("expected {}, got {} (remove the quotes)", expected, describe(node)));
      return std::nullopt;
    }
  }
  report(key, fmt::format("expected {}, got {}", expected, describe(node)));
  return std::nullopt;
}

std::string Section::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

SourcePos Section::pos_of_key(std::string_view key) const {
  const toml::node* node = find(key);
  return node != nullptr ? pos_of(node->source()) : pos_;
}

void Section::report(std::string_view key, std::string message) {
  diag_.add(pos_of_key(key), path_of(key), std::move(message));
}

void Section::missing(std::string_view key, std::string_view why) {
  diag_.add(pos_, path_of(key),
            why.empty() ? "missing required key" : fmt::format("missing required key ({})", why));
}

void Section::forbid(std::string_view key, std::string_view why) {
  forbidden_.push_back(key);
  reject(key, why);
}

std::optional<std::string> Section::string(std::string_view key, Need need) {
  const toml::node* node = present(key, need);
  if (node == nullptr) return std::nullopt;
  if (!node->is_string()) {
    report(key, "expected a string, got " + describe(*node));
    return std::nullopt;
  }
  Substituted sub = substitute_env(node->as_string()->get());
  if (!sub.ok()) {
    report(key, std::move(sub.error));
    return std::nullopt;
  }
  return ok(key, std::move(sub.text));
}

std::optional<std::string> Section::non_empty_string(std::string_view key, Need need) {
  auto value = string(key, need);
  if (value && value->empty()) {
    report(key, "expected a non-empty string, got \"\"");
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Section::bounded_string(std::string_view key, std::size_t max_bytes) {
  auto value = string(key);
  if (value && value->size() > max_bytes) {
    report(key, fmt::format("expected at most {} bytes, got {} bytes", max_bytes, value->size()));
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> Section::name(std::string_view key, Need need) {
  auto value = string(key, need);
  if (!value) return value;
  // Before the characters: a name of 70,000 bytes is not quoted back whole.
  if (value->size() > kMaxNameBytes) {
    report(key, fmt::format("expected a name of at most {} bytes, got {} bytes", kMaxNameBytes,
                            value->size()));
    return std::nullopt;
  }
  if (!is_valid_name(*value)) {
    report(key, fmt::format("expected a name of letters, digits, \"_\", \"-\" and \".\", got {}",
                            quote(*value)));
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> Section::integer(std::string_view key, std::int64_t lo, std::int64_t hi,
                                             Need need) {
  const std::string expected = hi == std::numeric_limits<std::int64_t>::max()
                                   ? fmt::format("an integer >= {}", lo)
                                   : fmt::format("an integer {}..{}", lo, hi);
  const auto value = raw_integer(key, need, expected);
  if (value && (*value < lo || *value > hi)) {
    report(key, fmt::format("expected {}, got {}", expected, *value));
    return std::nullopt;
  }
  return value ? ok(key, *value) : value;
}

std::optional<std::int64_t> Section::integer_or(std::string_view key, std::int64_t lo,
                                                std::int64_t hi,
                                                std::span<const std::int64_t> also) {
  std::string expected = fmt::format("an integer {}..{}", lo, hi);
  for (const std::int64_t v : also) expected += fmt::format(" or {}", v);
  const auto value = raw_integer(key, Need::kOptional, expected);
  const bool in_range = value && *value >= lo && *value <= hi;
  if (value && !in_range && std::find(also.begin(), also.end(), *value) == also.end()) {
    report(key, fmt::format("expected {}, got {}", expected, *value));
    return std::nullopt;
  }
  return value ? ok(key, *value) : value;
}

std::optional<std::int64_t> Section::integer_of(std::string_view key,
                                                std::span<const std::int64_t> allowed,
                                                std::string_view expected) {
  const auto value = raw_integer(key, Need::kOptional, expected);
  if (value && std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    report(key, fmt::format("expected {}, got {}", expected, *value));
    return std::nullopt;
  }
  return value ? ok(key, *value) : value;
}

std::optional<double> Section::number(std::string_view key) {
  const toml::node* node = present(key, Need::kOptional);
  if (node == nullptr) return std::nullopt;
  if (const auto* i = node->as_integer()) return ok(key, static_cast<double>(i->get()));
  if (const auto* f = node->as_floating_point()) return ok(key, f->get());
  return from_env<double>(key, *node, "a number", parse_double);
}

std::optional<bool> Section::boolean(std::string_view key) {
  const toml::node* node = present(key, Need::kOptional);
  if (node == nullptr) return std::nullopt;
  if (const auto* b = node->as_boolean()) return ok(key, b->get());
  return from_env<bool>(key, *node, "true or false", [](std::string_view s) {
    return s == "true" ? std::optional(true) : s == "false" ? std::optional(false) : std::nullopt;
  });
}

std::optional<Duration> Section::duration(std::string_view key, DurationRange range) {
  const toml::node* node = present(key, Need::kOptional);
  if (node == nullptr) return std::nullopt;
  if (node->is_integer() || node->is_floating_point()) {
    // The classic mistake: `poll_interval = 1000`. Milliseconds or seconds?
    std::ostringstream number;
    if (node->is_integer()) {
      number << *node->as_integer() << "ms";
    } else {
      number << node->as_floating_point()->get() << "s";
    }
    report(key, fmt::format("expected {}, got {} (add a unit, in quotes: \"{}\")",
                            kDurationExpected, describe(*node), number.str()));
    return std::nullopt;
  }
  if (!node->is_string()) {
    report(key, fmt::format("expected {}, got {}", kDurationExpected, describe(*node)));
    return std::nullopt;
  }
  const auto text = string(key);
  if (!text) return std::nullopt;
  const Parsed<Duration> parsed = parse_duration(*text);
  if (!parsed) {
    report(key,
           fmt::format("expected {}, got {} ({})", kDurationExpected, quote(*text), parsed.error));
    return std::nullopt;
  }
  if (*parsed.value < range.min || *parsed.value > range.max) {
    report(key, fmt::format("expected a duration from {} to {}, got {}",
                            quote(format_duration(range.min)), quote(format_duration(range.max)),
                            quote(*text)));
    return std::nullopt;
  }
  return ok(key, *parsed.value);
}

std::optional<std::uint64_t> Section::size(std::string_view key, SizeRange range) {
  const toml::node* node = present(key, Need::kOptional);
  if (node == nullptr) return std::nullopt;
  if (const auto* i = node->as_integer()) {
    // Bytes? Kilobytes? Say it, as for durations.
    report(key, fmt::format("expected {}, got {} (add a unit, in quotes: \"{}B\")", kSizeExpected,
                            describe(*node), i->get()));
    return std::nullopt;
  }
  if (!node->is_string()) {
    report(key, fmt::format("expected {}, got {}", kSizeExpected, describe(*node)));
    return std::nullopt;
  }
  const auto text = string(key);
  if (!text) return std::nullopt;
  const Parsed<std::uint64_t> parsed = parse_size(*text);
  if (!parsed) {
    report(key, fmt::format("expected {}, got {} ({})", kSizeExpected, quote(*text), parsed.error));
    return std::nullopt;
  }
  if (*parsed.value < range.min || *parsed.value > range.max) {
    report(key, fmt::format("expected a size from {} to {}, got {}", quote(format_size(range.min)),
                            quote(format_size(range.max)), quote(*text)));
    return std::nullopt;
  }
  return ok(key, *parsed.value);
}

std::optional<std::size_t> Section::one_of(std::string_view key,
                                           std::span<const std::string_view> names, Need need) {
  const toml::node* node = present(key, need);
  if (node == nullptr) return std::nullopt;
  const std::string expected = fmt::format("one of {}", fmt::join(names, ", "));
  if (!node->is_string()) {
    report(key, fmt::format("expected {}; got {}", expected, describe(*node)));
    return std::nullopt;
  }
  const auto text = string(key);
  if (!text) return std::nullopt;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == *text) return i;
  }
  std::string message = fmt::format("expected {}; got {}", expected, quote(*text));
  // Only a difference in case is a safe guess: "float" could be float32 or float64.
  for (std::string_view name : names) {
    if (name.size() == text->size() && edit_distance(name, *text) == 0) {
      message += fmt::format(" (did you mean {}?)", quote(name));
    }
  }
  report(key, std::move(message));
  return std::nullopt;
}

const toml::table* Section::table(std::string_view key, std::string_view hint) {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  if (!node->is_table()) {
    report(key, fmt::format("expected a table ({}), got {}", hint, describe(*node)));
    return nullptr;
  }
  return node->as_table();
}

const toml::array* Section::array_of_tables(std::string_view key, std::string_view hint) {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  if (!node->is_array()) {
    report(key, fmt::format("expected an array of tables ({}), got {}", hint, describe(*node)));
    return nullptr;
  }
  return node->as_array();
}

void Section::check_unknown_keys() {
  for (auto&& [key, value] : table_) {
    const std::string_view name = key.str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    if (std::find(forbidden_.begin(), forbidden_.end(), name) != forbidden_.end()) continue;
    SourcePos pos = pos_of(key.source());
    if (pos.line == 0) pos = pos_of(value.source());
    std::string message = "unknown key";
    if (const auto guess = closest_match(name, known_)) {
      message += fmt::format(" (did you mean {}?)", quote(*guess));
    } else {
      message += fmt::format(" (known keys: {})", fmt::join(known_, ", "));
    }
    diag_.add(pos, path_of(name), std::move(message));
  }
}

const toml::node* Section::present(std::string_view key, Need need) {
  const toml::node* node = find(key);
  if (node == nullptr && need == Need::kRequired) missing(key);
  return node;
}

std::optional<std::int64_t> Section::raw_integer(std::string_view key, Need need,
                                                 std::string_view expected) {
  const toml::node* node = present(key, need);
  if (node == nullptr) return std::nullopt;
  if (const auto* i = node->as_integer()) return i->get();
  return from_env<std::int64_t>(key, *node, expected, parse_int);
}

}  // namespace fieldgate::config
