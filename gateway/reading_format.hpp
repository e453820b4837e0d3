// How readings and device health look on a terminal and as JSON lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "drivers/driver.hpp"
#include "core/reading.hpp"

namespace fieldgate::gateway {

/// `text` safe to print on a terminal: control characters (C0, DEL, C1, so
/// no escape sequence reaches the terminal) as C escapes ("\n", "\x1B",
/// "\u009B"), bytes that are not UTF-8 as "\xNN", and "\" as "\\";
/// printable UTF-8 ("°C") unchanged.
[[nodiscard]] std::string printable(std::string_view text);

/// One aligned line for people: time, device, point, value and unit, quality
/// (and the error of a failed read). Device text goes through printable().
[[nodiscard]] std::string format_reading(const Reading& reading, std::size_t device_width,
                                         std::size_t point_width);

/// {"ts": "...", "ts_ms": 0, "device": "...", "point": "...", "value": 230.5,
///  "unit": "V", "quality": "good"} plus "error" for failed reads.
[[nodiscard]] nlohmann::json to_json(const Reading& reading);

/// One JSON text without a newline. Bytes that are not UTF-8 (an instrument's
/// Latin-1 "°") become U+FFFD, as in the MQTT payloads, instead of throwing.
[[nodiscard]] std::string json_line(const nlohmann::json& j);

/// A frame as received, for `poll --raw`: time, device, RAW, the escaped bytes
/// in quotes, and the verdict ("ok", "bad: checksum 5B, computed 5A", ...).
[[nodiscard]] std::string format_raw_frame(const drivers::RawFrame& frame,
                                           std::size_t device_width);
/// {"ts": "...", "ts_ms": 0, "device": "...", "raw": "$HR,72*5A\\r\\n", "verdict": "ok"}
[[nodiscard]] nlohmann::json to_json(const drivers::RawFrame& frame);

/// "up, last good 2026-…, 120 polls, 0 timeouts, …" for the end-of-run summary.
[[nodiscard]] std::string format_health(const drivers::DeviceHealth& health);
[[nodiscard]] nlohmann::json to_json(const drivers::DeviceHealth& health);

}  // namespace fieldgate::gateway
