// The points of a serial-line device: where each value is in a frame (field,
// key or group; split, part), its type, and its write template, checked
// against what the device's keys said. Private to schema.cpp, split from it
// to keep each file to one job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/toml_section.hpp"
#include "drivers/serial/settings.hpp"

namespace fieldgate::serial {

/// The largest frame (and so field index or part) any key may name.
inline constexpr std::int64_t kLargestFrame = 65536;

/// What a serial-line device's points are checked against; nullopt where the
/// device value was invalid (reported already), so dependent checks are skipped.
struct SerialPointContext {
  std::optional<ParseMode> parse;
  std::optional<std::vector<std::string>> groups;  // named groups of a pattern that compiled
  std::optional<int> last_field;  // highest field index a frame of the largest size can hold
  int largest_frame = 0;          // max_frame, or frame_length with fixed framing
  std::string separator;
};

/// One point of a serial-line device: name, type, scale, offset, unit, the MQTT
/// keys, where its value is in a frame, and the write keys.
[[nodiscard]] config::PointConfig read_serial_point(config::Section& s,
                                                    const SerialPointContext& context);

}  // namespace fieldgate::serial
