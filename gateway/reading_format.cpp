#include "gateway/reading_format.hpp"

#include <fmt/format.h>

#include "core/clock.hpp"

namespace fieldgate::gateway {

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
