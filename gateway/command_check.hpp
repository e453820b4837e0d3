// Commands to writable points, before anything reaches a bus: the payload
// (a bare value, or JSON {"value": …, "id": …, "ts": …}) and the checks a
// value must pass — the point is writable, the value of the point's kind,
// within min/max, one of `allowed`. Pure functions, shared by the MQTT
// command router and `fieldgate write`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "drivers/reading.hpp"

namespace fieldgate::gateway {

struct ParsedCommand {
  std::optional<Value> value;         // nullopt: unusable payload (see error)
  nlohmann::json id;                  // the request's "id", echoed in the result; null if none
  std::optional<std::int64_t> ts_ms;  // the request's "ts" (Unix ms), if given
  std::string error;
};

/// A bare value ("21.5", "true", "ON", any other text as a string) or a JSON
/// object with "value" and optional "id" and "ts".
[[nodiscard]] ParsedCommand parse_command_payload(std::string_view payload);

/// "" when `value` may be written to `point` of `device`, else why not
/// ("not writable", "out of range: …", "expected a number, got …"). Bool
/// points also take 0/1 and "on"/"off"/"true"/"false" (any case): `value` is
/// then replaced by the bool.
[[nodiscard]] std::string check_write(const config::DeviceConfig& device,
                                      const config::PointConfig& point, Value& value);

/// A value as JSON: null for none, NaN and infinities.
[[nodiscard]] nlohmann::json value_json(const Value& value);

}  // namespace fieldgate::gateway
