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

}  // namespace fieldgate
