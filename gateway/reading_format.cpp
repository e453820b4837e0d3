#include "gateway/reading_format.hpp"

#include <fmt/format.h>

#include "core/clock.hpp"

namespace fieldgate::gateway {

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      if (c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    switch (c) {
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x80) {  // the other C0 controls and DEL
      out += fmt::format("\\x{:02X}", c);
      ++i;
      continue;
    }
    // A well-formed sequence: its length from the lead byte, checked whole.
    const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    const auto sequence = text.substr(i, n);
    if (sequence.size() == n && is_valid_utf8(sequence)) {
      if (c == 0xC2 && static_cast<unsigned char>(sequence[1]) < 0xA0) {
        // C1 controls (U+0080..U+009F): U+009B is a CSI on many terminals.
        out += fmt::format("\\u{:04X}", static_cast<unsigned char>(sequence[1]));
      } else {
        out.append(sequence);
      }
      i += n;
      continue;
    }
    out += fmt::format("\\x{:02X}", c);
    ++i;
  }
  return out;
}

std::string format_reading(const Reading& reading, std::size_t device_width,
                           std::size_t point_width) {
  auto value = printable(format_value(reading.value));
  if (!reading.unit.empty() && reading.quality == Quality::kGood) {
    value += " " + printable(reading.unit);
  }
  auto line = fmt::format("{}  {:<{}}  {:<{}}  {:>14}  {}", iso8601(reading.source_ts_ms),
                          printable(reading.device), device_width, printable(reading.point),
                          point_width, value, to_string(reading.quality));
  if (!reading.error.empty()) line += "  (" + printable(reading.error) + ")";
  return line;
}

nlohmann::json to_json(const Reading& reading) {
  nlohmann::json j;
  j["ts"] = iso8601(reading.source_ts_ms);
  j["ts_ms"] = reading.source_ts_ms;
  j["device"] = reading.device;
  j["point"] = reading.point;
  std::visit(
      [&j](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          j["value"] = nullptr;
        } else {
          j["value"] = v;
        }
      },
      reading.value);
  j["unit"] = reading.unit;
  j["quality"] = std::string(to_string(reading.quality));
  if (!reading.error.empty()) j["error"] = reading.error;
  return j;
}

std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_raw_frame(const drivers::RawFrame& frame, std::size_t device_width) {
  return fmt::format("{}  {:<{}}  RAW  \"{}\"  {}", iso8601(frame.ts_ms), frame.device,
                     device_width, frame.bytes, frame.verdict);
}

nlohmann::json to_json(const drivers::RawFrame& frame) {
  return {{"ts", iso8601(frame.ts_ms)},
          {"ts_ms", frame.ts_ms},
          {"device", frame.device},
          {"raw", frame.bytes},
          {"verdict", frame.verdict}};
}

std::string format_health(const drivers::DeviceHealth& health) {
  const auto state = health.consecutive_failures > 0
                         ? fmt::format("DOWN ({} failed polls in a row: {})",
                                       health.consecutive_failures, health.last_error)
                         : std::string("up");
  const auto last_good =
      health.last_good_ms == 0 ? std::string("never") : iso8601(health.last_good_ms);
  auto line = fmt::format(
      "{}; last good poll {}; {} polls, {} requests, {} timeouts, {} exceptions, "
      "{} bad responses, {} connection errors",
      state, last_good, health.polls, health.requests, health.timeouts, health.exceptions,
      health.bad_responses, health.connection_errors);
  // Only drivers that cut frames themselves count these; the others' line stays short.
  if (health.frames > 0 || health.discarded_bytes > 0) {
    line += fmt::format("; {} frames, {} bytes discarded", health.frames, health.discarded_bytes);
  }
  if (!health.last_bad_frame.empty()) line += "; last bad frame " + health.last_bad_frame;
  return line;
}

nlohmann::json to_json(const drivers::DeviceHealth& health) {
  nlohmann::json j = {{"connected", health.connected},
                      {"consecutive_failures", health.consecutive_failures},
                      {"last_error", health.last_error},
                      {"last_good_ms", health.last_good_ms},
                      {"polls", health.polls},
                      {"requests", health.requests},
                      {"timeouts", health.timeouts},
                      {"exceptions", health.exceptions},
                      {"bad_responses", health.bad_responses},
                      {"connection_errors", health.connection_errors}};
  if (health.frames > 0 || health.discarded_bytes > 0 || !health.last_bad_frame.empty()) {
    j["frames"] = health.frames;
    j["discarded_bytes"] = health.discarded_bytes;
    j["last_bad_frame"] = health.last_bad_frame;
  }
  return j;
}

}  // namespace fieldgate::gateway
