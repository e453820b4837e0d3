// How readings and device health look on a terminal and as JSON lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/reading.hpp"
#include "core/reading_text.hpp"
#include "drivers/driver.hpp"

namespace fieldgate::gateway {

// The text of one reading (printable, format_reading, to_json, json_line) is
// in core/reading_text.hpp: the queue tool shows readings the same way.
using fieldgate::format_reading;
using fieldgate::json_line;
using fieldgate::printable;
using fieldgate::to_json;

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
