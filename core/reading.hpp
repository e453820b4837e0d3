// A Reading is one value of one point at one moment: the unit of data that
// drivers produce, the store buffers and the forwarder publishes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fieldgate {

/// The decoded value. monostate when the read failed (see Reading::quality).
using Value = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

/// Why a reading has (or has no) value. Anything but kGood carries no value.
enum class Quality : std::uint8_t {
  kGood,
  kTimeout,       // no (complete) answer within the response/byte timeout
  kException,     // the device answered with a Modbus exception
  kBadResponse,   // CRC error, wrong length, wrong unit id: a frame we refuse to decode
  kNoConnection,  // the port or TCP endpoint could not be opened or was reset
};

[[nodiscard]] std::string_view to_string(Quality q) noexcept;

struct Reading {
  std::string device;
  std::string point;
  Value value;
  std::string unit;
  Quality quality = Quality::kGood;
  std::int64_t source_ts_ms = 0;  // Unix time in ms when the device answered (or failed)
  std::uint64_t seq = 0;          // assigned by the store when accepted; 0 before
  std::string error;              // why quality is not kGood, for people
};

using Batch = std::vector<Reading>;

/// Human form of a value: "230.5", "true", "SN-0042", "-" for none.
[[nodiscard]] std::string format_value(const Value& v);

/// Length of the well-formed UTF-8 sequence at text[i] (Unicode Table 3-7:
/// no overlong forms, no surrogates, nothing above U+10FFFF), 0 if there is
/// none; ASCII is 1. Exactly the sequences nlohmann's decoder accepts.
[[nodiscard]] std::size_t utf8_sequence(std::string_view text, std::size_t i) noexcept;

/// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates,
/// nothing above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with every byte that is not part of a well-formed UTF-8 sequence
/// replaced by U+FFFD (one per byte: a Latin-1 "\xB0C" becomes "\uFFFDC").
[[nodiscard]] std::string to_valid_utf8(std::string_view text);

/// Makes every string of a reading (device, point, unit, error, a string
/// value) valid UTF-8 by to_valid_utf8(); true if anything was replaced.
/// Devices send any bytes (a serial instrument's Latin-1 "°"); MQTT topics
/// and JSON need UTF-8, so the store applies this to every reading it takes.
bool make_valid_utf8(Reading& reading);

}  // namespace fieldgate
