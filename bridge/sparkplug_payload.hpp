// Sparkplug B payloads in our own types: encode() for what the edge node
// sends (births, data, deaths), decode() for what arrives (NCMD, DCMD, and
// `fieldgate sparkplug decode`). The protobuf code (protoc-c, from
// sparkplug_b.proto) stays inside sparkplug_payload.cpp.
//
// decode() treats its input as hostile: the size is checked before
// anything is parsed, the parser's memory is capped, the number of metrics
// and the length of every name and string are bounded, and a name or string
// is text only once it was checked as UTF-8 (a NUL inside is refused too).
// It never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fieldgate::bridge::sparkplug {

/// The datatype codes of the specification (the ones fieldgate uses and
/// reads; any other code is carried as a number).
enum class DataType : std::uint32_t {
  kUnknown = 0,
  kInt8 = 1,
  kInt16 = 2,
  kInt32 = 3,
  kInt64 = 4,
  kUInt8 = 5,
  kUInt16 = 6,
  kUInt32 = 7,
  kUInt64 = 8,
  kFloat = 9,
  kDouble = 10,
  kBoolean = 11,
  kString = 12,
  kDateTime = 13,
  kText = 14,
  kUuid = 15,
  kBytes = 17,
};

/// The datatype's name as the specification spells it ("Int16"), "Unknown"
/// for a code it does not know.
[[nodiscard]] std::string_view to_string(DataType type) noexcept;

/// The Quality property's codes.
inline constexpr std::int32_t kQualityBad = 0;
inline constexpr std::int32_t kQualityGood = 192;
inline constexpr std::int32_t kQualityStale = 500;

/// A metric's value: none (is_null), signed (Int8..Int64), unsigned
/// (UInt8..UInt64, DateTime), a float or double, a boolean, text, or bytes
/// (a Bytes metric; also an incoming string that is not valid UTF-8).
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};
using MetricValue =
    std::variant<std::monostate, std::int64_t, std::uint64_t, double, bool, std::string, Bytes>;

struct Metric {
  std::optional<std::string> name;  // births and commands; data messages use the alias
  std::optional<std::uint64_t> alias;
  std::optional<std::uint64_t> timestamp;  // ms since the Unix epoch
  std::uint32_t datatype = 0;              // a DataType code
  MetricValue value;                       // monostate: is_null
  bool is_historical = false;
  bool is_transient = false;
  std::string eng_unit;                 // the engUnit property; "" = none
  std::optional<std::int32_t> quality;  // the Quality property; none = good
};

struct Payload {
  std::optional<std::uint64_t> timestamp;
  std::optional<std::uint64_t> seq;
  std::vector<Metric> metrics;
};

/// The wire form of `payload`. A metric's value is written in the field its
/// datatype calls for (Int8..Int32 as two's complement in int_value); a
/// monostate value sets is_null. Throws std::bad_alloc only.
[[nodiscard]] std::string encode(const Payload& payload);

/// What decode() accepts at most.
struct DecodeLimits {
  std::size_t max_bytes = 256 * 1024;  // the payload's size
  std::size_t max_metrics = 1024;
  std::size_t max_text = 4096;      // bytes of one name, string value or property
  std::size_t max_properties = 16;  // per metric
};

/// A decoded payload, or why not.
struct Decoded {
  std::optional<Payload> payload;
  std::string error;  // "" when payload is set
};

/// Parses `bytes` within `limits`. Never throws (std::bad_alloc aside).
[[nodiscard]] Decoded decode(std::string_view bytes, const DecodeLimits& limits = {});

}  // namespace fieldgate::bridge::sparkplug
