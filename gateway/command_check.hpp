// Commands to writable points, before anything reaches a bus: the payload
// (a bare value, or JSON {"value": …, "id": …, "ts": …}) and the checks a
// value must pass — the point is writable, the value of the point's kind,
// within min/max, one of `allowed`. Pure functions, shared by the MQTT
// command router and `fieldgate write`.
//
// A payload is hostile until checked: its size is bounded before anything
// else looks at it, its bytes must be UTF-8, and JSON may nest at most
// kMaxCommandDepth levels (the parser builds nothing deeper, so neither a
// copy, a dump nor a destructor can recurse further).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::gateway {

/// JSON nesting a command may have ({"value": 1} is 1, {"id": [1]} is 2).
inline constexpr int kMaxCommandDepth = 32;
/// How far a command's "ts" may be ahead of the gateway's clock.
inline constexpr std::chrono::milliseconds kCommandClockSkew{2000};

struct ParsedCommand {
  std::optional<Value> value;         // nullopt: unusable payload (see error)
  nlohmann::json id;                  // the request's "id", echoed in the result; null if none
  std::optional<std::int64_t> ts_ms;  // the request's "ts" (Unix ms), if given
  std::string error;
};

/// A bare value ("21.5", "true", "ON", any other text as a string) or a JSON
/// object with "value" and optional "id" and "ts". Refused (`error` set, no
/// value): more than `max_size` bytes, bytes that are not UTF-8, JSON nested
/// deeper than kMaxCommandDepth, and text that starts like JSON ('{' or '[')
/// but is not.
[[nodiscard]] ParsedCommand parse_command_payload(std::string_view payload, std::uint64_t max_size);

/// Whether a command issued at `ts_ms` (its "ts", Unix ms) may still run at
/// `now_ms`: status "" with its age, or "expired" (older than `max_age`) or
/// "rejected" (more than kCommandClockSkew in the future) with the reason.
/// Any int64 is handled (no overflow).
struct CommandAge {
  std::string status;
  std::string error;
  std::chrono::milliseconds age{0};  // 0 for a ts ahead of now
};
[[nodiscard]] CommandAge check_command_age(std::int64_t ts_ms, std::int64_t now_ms,
                                           std::chrono::milliseconds max_age);

/// "" when `value` may be written to `point` of `device`, else why not
/// ("not writable", "out of range: …", "expected a number, got …"). Bool
/// points also take 0/1 and "on"/"off"/"true"/"false" (any case): `value` is
/// then replaced by the bool.
[[nodiscard]] std::string check_write(const config::DeviceConfig& device,
                                      const config::PointConfig& point, Value& value);

/// A value as JSON: null for none, NaN and infinities.
[[nodiscard]] nlohmann::json value_json(const Value& value);

/// `j` as compact JSON text that never throws on bad UTF-8 (invalid bytes
/// become U+FFFD), at most `max_bytes` of it: a longer text is cut and ends
/// "… (N bytes)". For log lines.
[[nodiscard]] std::string json_for_log(const nlohmann::json& j, std::size_t max_bytes = 256);

}  // namespace fieldgate::gateway
