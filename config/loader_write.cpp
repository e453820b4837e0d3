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

// What kind of value a point takes, for limits and `allowed`.
enum class ValueClass { kNumber, kBool, kString };

std::optional<ValueClass> value_class(const WriteContext& c) {
  if (c.serial) {
    if (!c.line_type) return std::nullopt;
    if (*c.line_type == SerialValueType::kBool) return ValueClass::kBool;
    if (*c.line_type == SerialValueType::kString) return ValueClass::kString;
    return ValueClass::kNumber;
  }
  if (!c.type) return std::nullopt;
  if (*c.type == ValueType::kBool || *c.type == ValueType::kBit) return ValueClass::kBool;
  if (*c.type == ValueType::kString) return ValueClass::kString;
  return ValueClass::kNumber;
}

std::string type_name(const WriteContext& c) {
  return quote(c.serial ? to_string(*c.line_type) : to_string(*c.type));
}

std::optional<double> limit(Section& s, std::string_view key) {
  const auto value = s.number(key);
  if (value && !std::isfinite(*value)) {
    s.report(key, fmt::format("expected a finite number, got {}", *value));
    return std::nullopt;
  }
  return value;
}

// `allowed`: a non-empty array of values of the point's kind.
std::vector<AllowedValue> read_allowed(Section& s, const WriteContext& c,
                                       std::optional<ValueClass> cls) {
  std::vector<AllowedValue> out;
  const toml::node* node = s.find("allowed");
  if (node == nullptr) return out;
  const std::string_view expected = !cls                          ? "values"
                                    : *cls == ValueClass::kBool   ? "true or false"
                                    : *cls == ValueClass::kString ? "strings"
                                                                  : "numbers";
  const toml::array* array = node->as_array();
  if (array == nullptr || array->empty()) {
    s.report("allowed", fmt::format("expected a non-empty array of {}, got {}", expected,
                                    array == nullptr ? describe(*node) : "an empty array"));
    return out;
  }
  for (const toml::node& element : *array) {
    std::optional<AllowedValue> value;
    if (const auto* b = element.as_boolean(); b && cls == ValueClass::kBool) {
      value = b->get();
    } else if (const auto* i = element.as_integer(); i && cls == ValueClass::kNumber) {
      value = static_cast<double>(i->get());
    } else if (const auto* f = element.as_floating_point();
               f && cls == ValueClass::kNumber && std::isfinite(f->get())) {
      value = f->get();
    } else if (const auto* t = element.as_string(); t && cls == ValueClass::kString) {
      value = std::string(t->get());
    }
    if (!value) {
      if (cls) {
        s.report("allowed", fmt::format("expected an array of {} (the point's type is {}), got {}",
                                        expected, type_name(c), describe(element)));
      }
      return {};
    }
    out.push_back(std::move(*value));
  }
  return out;
}

}  // namespace

std::string_view to_string(WriteFunction f) noexcept {
  return f == WriteFunction::kMultiple ? "multiple" : "single";
}

WriteConfig read_point_write(Section& s, const WriteContext& c) {
  WriteConfig w;
  const auto writable = s.boolean("writable");
  assign(w.writable, writable);
  const auto min = limit(s, "min");
  const auto max = limit(s, "max");
  const auto function = s.choice("write_function", kWriteFunctions);
  assign(w.function, function);
  const auto write_template = s.non_empty_string("write_template", Need::kOptional);
  assign(w.write_template, write_template);
  const auto cls = value_class(c);
  w.allowed = read_allowed(s, c, cls);
  w.min = min;
  w.max = max;

  if (!w.writable) {
    // Limits on a read-only point would look like protection and do nothing.
    if (writable || !s.has("writable")) {
      for (std::string_view key : kWriteKeys) {
        // The other driver's key is reported as such by the point's reader.
        if (key == (c.serial ? "write_function" : "write_template")) continue;
        s.reject(key, "only allowed with writable = true");
      }
    }
    return w;
  }
  if (!c.serial && c.kind &&
      (*c.kind == RegisterKind::kInput || *c.kind == RegisterKind::kDiscreteInput)) {
    s.report("writable",
             fmt::format("kind {} is read-only by protocol; only coils and holding registers "
                         "can be written",
                         quote(to_string(*c.kind))));
  }
  if (c.serial) {
    if (!s.has("write_template")) {
      s.missing("write_template",
                "a writable serial-line point needs the bytes to send, e.g. \"SET {value}\\r\\n\"");
    } else if (write_template && write_template->find("{value}") == std::string::npos) {
      s.report("write_template", fmt::format("expected a template containing {{value}}, got {}",
                                             quote(*write_template)));
    }
  }
  if (cls && *cls != ValueClass::kNumber) {
    const std::string why =
        fmt::format("not allowed for type {} (limits are for numbers)", type_name(c));
    s.reject("min", why);
    s.reject("max", why);
  } else if (min && max && *min > *max) {
    s.report("max", fmt::format("expected a number of at least min ({}), got {}", *min, *max));
  }
  return w;
}

}  // namespace fieldgate::config
