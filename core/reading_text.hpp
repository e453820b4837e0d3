// How a reading looks to people: on a terminal and as a JSON line. Shared by
// `fieldgate poll`, the periodic status and the offline queue tool.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/reading.hpp"

namespace fieldgate {

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

}  // namespace fieldgate
