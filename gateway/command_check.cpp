#include "gateway/command_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "bridge/value_json.hpp"
#include "gateway/utf8.hpp"

namespace fieldgate::gateway {
namespace {

std::string describe(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return fmt::format("{:?}", *s);
  return format_value(v);
}

std::optional<Value> from_json(const nlohmann::json& j) {
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_integer() && !j.is_number_unsigned()) return Value(j.get<std::int64_t>());
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Value(static_cast<std::int64_t>(u));
    }
    return Value(static_cast<double>(u));
  }
  if (j.is_number_float()) return Value(j.get<double>());
  if (j.is_string()) return Value(j.get<std::string>());
  return std::nullopt;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<bool> as_bool(const Value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<std::int64_t>(&v); i && (*i == 0 || *i == 1)) return *i == 1;
  if (const auto* s = std::get_if<std::string>(&v)) {
    const std::string t = lower(*s);
    if (t == "true" || t == "on") return true;
    if (t == "false" || t == "off") return false;
  }
  return std::nullopt;
}

std::optional<double> as_number(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

bool matches(const config::AllowedValue& allowed, const Value& v) {
  if (const auto* b = std::get_if<bool>(&allowed)) return as_bool(v) == *b;
  if (const auto* d = std::get_if<double>(&allowed)) return as_number(v) == *d;
  const auto* s = std::get_if<std::string>(&v);
  return s != nullptr && *s == std::get<std::string>(allowed);
}

std::string allowed_list(const std::vector<config::AllowedValue>& allowed) {
  std::string out;
  for (const auto& a : allowed) {
    if (!out.empty()) out += ", ";
    std::visit(
        [&out](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out += fmt::format("{:?}", x);
          } else {
            out += fmt::format("{}", x);
          }
        },
        a);
  }
  return out;
}

}  // namespace

ParsedCommand parse_command_payload(std::string_view payload, std::uint64_t max_size) {
  ParsedCommand out;
  // Size first: nothing below may look at more than max_size bytes.
  if (payload.size() > max_size) {
    out.error = fmt::format("payload of {} bytes is larger than command_max_size ({} bytes)",
                            payload.size(), max_size);
    return out;
  }
  if (const auto bad = first_invalid_utf8(payload)) {
    out.error = fmt::format("payload is not valid UTF-8 (byte 0x{:02X} at offset {})",
                            static_cast<unsigned char>(payload[*bad]), *bad);
    return out;
  }
  while (!payload.empty() && std::isspace(static_cast<unsigned char>(payload.front())))
    payload.remove_prefix(1);
  while (!payload.empty() && std::isspace(static_cast<unsigned char>(payload.back())))
    payload.remove_suffix(1);
  if (payload.empty()) {
    out.error = "empty payload";
    return out;
  }
  // The parser keeps nothing nested deeper than the limit (its own state is a
  // bit per level, not a call frame), and says so.
  bool too_deep = false;
  const nlohmann::json::parser_callback_t depth_limit =
      [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            depth >= kMaxCommandDepth) {
          too_deep = true;
          return false;
        }
        return true;
      };
  const auto j = nlohmann::json::parse(payload, depth_limit, false);
  if (too_deep) {
    out.error = fmt::format("JSON nested deeper than {} levels", kMaxCommandDepth);
    return out;
  }
  if (j.is_discarded()) {
    if (payload.front() == '{' || payload.front() == '[') {
      // Broken JSON, not text meant for a string point.
      out.error = "not valid JSON (a payload starting with '{' or '[' must be JSON)";
      return out;
    }
    out.value = std::string(payload);  // bare text: "ON", "auto"
    return out;
  }
  if (!j.is_object()) {
    out.value = from_json(j);
    if (!out.value) out.error = "expected a number, true/false, a string or a JSON object";
    return out;
  }
  if (const auto id = j.find("id"); id != j.end()) out.id = *id;
  if (const auto ts = j.find("ts"); ts != j.end()) {
    if (!ts->is_number_integer() ||
        (ts->is_number_unsigned() &&
         ts->get<std::uint64_t>() >
             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
      out.error = "ts: expected Unix time in milliseconds (an integer)";
      return out;
    }
    out.ts_ms = ts->get<std::int64_t>();
  }
  const auto value = j.find("value");
  if (value == j.end()) {
    out.error = "no \"value\" in the JSON object";
    return out;
  }
  out.value = from_json(*value);
  if (!out.value) out.error = "value: expected a number, true/false or a string";
  return out;
}

CommandAge check_command_age(std::int64_t ts_ms, std::int64_t now_ms,
                             std::chrono::milliseconds max_age) {
  CommandAge out;
  // The distance between two int64 fits in a uint64 (two's complement wraps
  // to the right value); int64 arithmetic would overflow at the extremes.
  const auto distance = [](std::int64_t from, std::int64_t to) {
    return static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from);
  };
  if (ts_ms > now_ms) {
    const std::uint64_t ahead = distance(now_ms, ts_ms);
    if (ahead > static_cast<std::uint64_t>(kCommandClockSkew.count())) {
      out.status = "rejected";
      out.error = fmt::format(
          "ts is {} ms ahead of the gateway's clock (more than the {} ms allowed for clock skew)",
          ahead, kCommandClockSkew.count());
    }
    return out;  // age 0
  }
  const std::uint64_t age = distance(ts_ms, now_ms);
  if (age > static_cast<std::uint64_t>(std::max<std::int64_t>(max_age.count(), 0))) {
    out.status = "expired";
    out.error = fmt::format("the command is {} ms old (ts), more than command_max_age ({} ms)", age,
                            max_age.count());
    return out;
  }
  out.age = std::chrono::milliseconds(static_cast<std::int64_t>(age));
  return out;
}

std::string check_write(const config::DeviceConfig& /*device*/, const config::PointConfig& point,
                        Value& value) {
  const config::WriteConfig& w = point.write();
  if (!w.writable) return "not writable (writable = true is not set for this point)";
  // The driver's schema said what the point takes (PointConfig::value_kind).
  switch (point.value_kind) {
    case config::ValueKind::kBool: {
      const auto b = as_bool(value);
      if (!b) return fmt::format("expected true or false, got {}", describe(value));
      value = *b;
      break;
    }
    case config::ValueKind::kString:
      if (!std::holds_alternative<std::string>(value)) {
        return fmt::format("expected a string, got {}", describe(value));
      }
      break;
    case config::ValueKind::kNumber: {
      const auto d = as_number(value);
      if (!d) return fmt::format("expected a number, got {}", describe(value));
      if (!std::isfinite(*d)) return fmt::format("expected a finite number, got {}", *d);
      if (w.min && *d < *w.min) {
        return fmt::format("out of range: {} is below min {}", describe(value), *w.min);
      }
      if (w.max && *d > *w.max) {
        return fmt::format("out of range: {} is above max {}", describe(value), *w.max);
      }
      break;
    }
  }
  if (!w.allowed.empty() &&
      std::none_of(w.allowed.begin(), w.allowed.end(),
                   [&value](const config::AllowedValue& a) { return matches(a, value); })) {
    return fmt::format("not allowed: {} is not one of {}", describe(value),
                       allowed_list(w.allowed));
  }
  return {};
}

nlohmann::json value_json(const Value& value) {
  return bridge::value_to_json<nlohmann::json>(value);
}

std::string json_for_log(const nlohmann::json& j, std::size_t max_bytes) {
  std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() <= max_bytes) return text;
  const std::size_t total = text.size();
  text.resize(max_bytes);
  return fmt::format("{}… ({} bytes)", text, total);
}

}  // namespace fieldgate::gateway
