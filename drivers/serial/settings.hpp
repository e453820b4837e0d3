// The serial-line driver's settings of a device and of a point, as its schema
// (schema.cpp) reads them from [[devices]] and [[devices.points]]; config/
// carries them as DeviceConfig::settings / PointConfig::settings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/serial_port.hpp"

namespace fieldgate::serial {

/// How the byte stream is cut into frames.
enum class Framing { kDelimiter, kStartEnd, kFixed };
/// Integrity check of a frame. kNmeaXor: XOR of the characters between '$'
/// and '*', as two hex digits after '*'. kCrc16Ccitt is CRC-16/CCITT-FALSE
/// (poly 0x1021, init 0xFFFF).
enum class ChecksumKind { kNone, kNmeaXor, kCrc16Modbus, kCrc16Ccitt, kSum8 };
/// Where a (non-NMEA) checksum sits: the last bytes of the frame's content, or
/// right after the end byte (start-end framing only).
enum class ChecksumPosition { kEnd, kAfterEnd };
/// How a (non-NMEA) checksum is written: raw bytes, or upper/lower case hex digits.
enum class ChecksumFormat { kBinary, kHex };
/// How a frame's payload is cut into values.
enum class ParseMode { kKeyValue, kFields, kRegex };
/// kStreaming: the device pushes frames; kRequest: send `request` every poll
/// interval and wait up to response_timeout for the reply.
enum class LineMode { kStreaming, kRequest };
/// What a serial-line point's text becomes.
enum class SerialValueType { kNumber, kInt, kBool, kString };

/// The serial-line keys of a [[devices]] entry.
struct SerialLineConfig : config::DeviceSettings, SerialSettings {
  Framing framing = Framing::kDelimiter;
  /// kDelimiter: the bytes that end a frame. With "\n", a trailing "\r" is
  /// dropped too, so one setting reads LF and CRLF devices.
  std::string delimiter = "\n";
  /// kDelimiter: `delimiter = "any-line-end"`: "\r\n", "\n" and "\r" each
  /// end a frame, mixed too (delimiter then holds "\n").
  bool any_line_end = false;
  std::optional<int> start_byte;  // kStartEnd (required), kFixed (optional, to resynchronise)
  std::optional<int> end_byte;    // kStartEnd (required)
  int frame_length = 0;           // kFixed: bytes per frame, start byte and checksum included
  int max_frame = 256;            // longer frames are discarded up to the next frame start
  ChecksumKind checksum = ChecksumKind::kNone;
  ChecksumPosition checksum_position = ChecksumPosition::kEnd;
  ChecksumFormat checksum_format = ChecksumFormat::kBinary;
  ParseMode parse = ParseMode::kFields;
  std::string separator = ",";  // kFields, kKeyValue: between fields / pairs
  /// kKeyValue: between key and value. Equal to `separator` for devices that
  /// send KEY,VALUE,KEY,VALUE.
  std::string assign = "=";
  std::string pattern;  // kRegex: PCRE2 with named groups
  LineMode mode = LineMode::kStreaming;
  std::string request;  // kRequest: bytes sent every poll interval
  /// Streaming: no good frame for this long reports the device stale. Unset: never.
  std::optional<config::Duration> stale_after;
};

/// Where a serial-line point's value is in a parsed frame.
struct SerialPointConfig : config::PointSettings {
  int field = 0;      // ParseMode::kFields: 0-based index
  std::string key;    // ParseMode::kKeyValue
  std::string group;  // ParseMode::kRegex: a named group
  /// Optional second cut, e.g. "120/80" with split "/" and part 1 → "80".
  std::string split;
  int part = 0;
  SerialValueType type = SerialValueType::kNumber;
  /// Writable points: the bytes sent for a write, with "{value}" replaced by
  /// the value.
  std::string write_template;
};

// Names as spelled in TOML (schema.cpp, `check`, `poll`).
[[nodiscard]] std::string_view to_string(Framing f) noexcept;
[[nodiscard]] std::string_view to_string(ChecksumKind c) noexcept;
[[nodiscard]] std::string_view to_string(ChecksumPosition p) noexcept;
[[nodiscard]] std::string_view to_string(ChecksumFormat f) noexcept;
[[nodiscard]] std::string_view to_string(ParseMode m) noexcept;
[[nodiscard]] std::string_view to_string(LineMode m) noexcept;
[[nodiscard]] std::string_view to_string(SerialValueType t) noexcept;

/// The serial-line settings of a device (of a point); the defaults when it has
/// none, as a configuration built by hand in a test.
[[nodiscard]] inline const SerialLineConfig& line_of(const config::DeviceConfig& d) noexcept {
  return config::settings_of<SerialLineConfig>(d);
}
[[nodiscard]] inline const SerialPointConfig& point_of(const config::PointConfig& p) noexcept {
  return config::settings_of<SerialPointConfig>(p);
}

/// For configurations built by hand (tests): config::edit_settings_of.
inline SerialLineConfig& edit_line_of(config::DeviceConfig& d) {
  return config::edit_settings_of<SerialLineConfig>(d);
}
inline SerialPointConfig& edit_point_of(config::PointConfig& p) {
  return config::edit_settings_of<SerialPointConfig>(p);
}

}  // namespace fieldgate::serial
