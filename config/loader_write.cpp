#include "config/loader_write.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <array>
#include <cmath>
#include <string>
#include <string_view>

#include "config/schema.hpp"

namespace fieldgate::config {
namespace {

std::optional<double> limit(Section& s, std::string_view key) {
  const auto value = s.number(key);
  if (value && !std::isfinite(*value)) {
    s.report(key, fmt::format("expected a finite number, got {}", *value));
    return std::nullopt;
  }
  return value;
}

// `allowed`: a non-empty array of values of the point's kind.
std::vector<AllowedValue> read_allowed(Section& s, const WriteContext& c) {
  const std::optional<ValueKind> cls = c.kind;
  std::vector<AllowedValue> out;
  const toml::node* node = s.find("allowed");
  if (node == nullptr) return out;
  const std::string_view expected = !cls                         ? "values"
                                    : *cls == ValueKind::kBool   ? "true or false"
                                    : *cls == ValueKind::kString ? "strings"
                                                                 : "numbers";
  const toml::array* array = node->as_array();
  if (array == nullptr || array->empty()) {
    s.report("allowed", fmt::format("expected a non-empty array of {}, got {}", expected,
                                    array == nullptr ? describe(*node) : "an empty array"));
    return out;
  }
  for (const toml::node& element : *array) {
    std::optional<AllowedValue> value;
    if (const auto* b = element.as_boolean(); b && cls == ValueKind::kBool) {
      value = b->get();
    } else if (const auto* i = element.as_integer(); i && cls == ValueKind::kNumber) {
      value = static_cast<double>(i->get());
    } else if (const auto* f = element.as_floating_point();
               f && cls == ValueKind::kNumber && std::isfinite(f->get())) {
      value = f->get();
    } else if (const auto* t = element.as_string(); t && cls == ValueKind::kString) {
      value = std::string(t->get());
    }
    if (!value) {
      if (cls) {
        s.report("allowed", fmt::format("expected an array of {} (the point's type is {}), got {}",
                                        expected, quote(c.type_name), describe(element)));
      }
      return {};
    }
    out.push_back(std::move(*value));
  }
  return out;
}

}  // namespace

WriteConfig read_point_write(Section& s, const WriteContext& c) {
  WriteConfig w;
  const auto writable = s.boolean("writable");
  assign(w.writable, writable);
  const auto min = limit(s, "min");
  const auto max = limit(s, "max");
  w.allowed = read_allowed(s, c);
  w.min = min;
  w.max = max;

  if (!w.writable) {
    // Limits on a read-only point would look like protection and do nothing.
    if (writable || !s.has("writable")) {
      for (std::string_view key : {"min", "max", "allowed"}) {
        s.reject(key, "only allowed with writable = true");
      }
    }
    return w;
  }
  if (c.kind && *c.kind != ValueKind::kNumber) {
    const std::string why =
        fmt::format("not allowed for type {} (limits are for numbers)", quote(c.type_name));
    s.reject("min", why);
    s.reject("max", why);
  } else if (min && max && *min > *max) {
    s.report("max", fmt::format("expected a number of at least min ({}), got {}", *min, *max));
  }
  return w;
}

void reject_unless_writable(Section& s, const WriteConfig& write, std::string_view key) {
  if (!write.writable && !s.reported("writable")) {
    s.reject(key, "only allowed with writable = true");
  }
}

}  // namespace fieldgate::config
