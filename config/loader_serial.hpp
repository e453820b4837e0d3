// Readers of the serial-line keys of [[devices]] and [[devices.points]]
// (drivers/serial/). Split from loader.cpp to keep each file to one job; the
// same rules apply (see its design notes). Private to config/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// What a serial-line device's points are checked against; nullopt where the
/// device value was invalid (reported already), so dependent checks are skipped.
struct SerialPointContext {
  std::optional<ParseMode> parse;
  std::optional<std::vector<std::string>> groups;  // named groups of a pattern that compiled
  std::optional<int> last_field;  // highest field index a frame of the largest size can hold
  int largest_frame = 0;          // max_frame, or frame_length with fixed framing
  std::string separator;
};

/// Reads port settings, framing, checksum, parsing and mode into `serial`, and
/// checks that they fit together (a checksum kind that needs another framing...).
[[nodiscard]] SerialPointContext read_serial_line(Section& s, SerialLineConfig& serial);

/// One point of a serial-line device: name, type, scale, offset, unit, the MQTT
/// keys, and where its value is in a frame (field, key or group; split, part).
[[nodiscard]] PointConfig read_serial_point(Section& s, const SerialPointContext& context);

/// Reports the Modbus-only keys of a serial-line device, or the serial-only keys
/// of a Modbus device.
void reject_modbus_device_keys(Section& s);
void reject_serial_device_keys(Section& s, std::string_view driver);

}  // namespace fieldgate::config
