#include "drivers/serial/schema.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>

#include "config/bounds.hpp"
#include "config/loader_uplink.hpp"
#include "config/loader_write.hpp"
#include "config/schema.hpp"
#include "config/serial_keys.hpp"
#include "config/toml_section.hpp"
#include "drivers/serial/checksum.hpp"
#include "drivers/serial/pcre_regex.hpp"
#include "drivers/serial/schema_points.hpp"
#include "drivers/serial/settings.hpp"

namespace fieldgate::serial {
namespace {

using namespace config;  // NOLINT(google-build-using-namespace): the schema's vocabulary

constexpr std::string_view kDriver = "serial-line";
constexpr std::array<std::string_view, 1> kNames{kDriver};
constexpr auto kDeviceKeys = std::to_array<std::string_view>(
    {"port",         "baud",       "parity",    "data_bits",         "stop_bits",
     "flow_control", "framing",    "delimiter", "start_byte",        "end_byte",
     "frame_length", "max_frame",  "checksum",  "checksum_position", "checksum_format",
     "parse",        "separator",  "assign",    "pattern",           "mode",
     "request",      "stale_after"});
constexpr auto kPointKeys = std::to_array<std::string_view>(
    {"type", "field", "key", "group", "split", "part", "write_template"});

constexpr std::array kFlowControls{FlowControl::kNone, FlowControl::kRtsCts, FlowControl::kXonXoff};
constexpr std::array kFramings{Framing::kDelimiter, Framing::kStartEnd, Framing::kFixed};
constexpr std::array kChecksumKinds{ChecksumKind::kNone, ChecksumKind::kNmeaXor,
                                    ChecksumKind::kCrc16Modbus, ChecksumKind::kCrc16Ccitt,
                                    ChecksumKind::kSum8};
constexpr std::array kChecksumPositions{ChecksumPosition::kEnd, ChecksumPosition::kAfterEnd};
constexpr std::array kChecksumFormats{ChecksumFormat::kBinary, ChecksumFormat::kHex};
constexpr std::array kParseModes{ParseMode::kKeyValue, ParseMode::kFields, ParseMode::kRegex};
constexpr std::array kLineModes{LineMode::kStreaming, LineMode::kRequest};
constexpr std::string_view kByteExpected =
    "a byte: an integer 0..255 such as 0x02, or a one-character string such as \"$\"";

// A delimiter longer than this is no line end or frame end anyone sends.
constexpr std::size_t kMaxDelimiterBytes = 16;
// The delimiter value for instruments that mix line ends.
constexpr std::string_view kAnyLineEnd = "any-line-end";

void read_delimiter(Section& s, SerialLineConfig& c) {
  const auto text = s.bounded_string("delimiter", kMaxDelimiterBytes);
  if (!text) return;
  if (text->empty()) {
    s.report("delimiter", "expected a non-empty string, got \"\"");
  } else if (*text == kAnyLineEnd) {
    c.any_line_end = true;
    c.delimiter.assign(1, '\n');  // not `= "\n"`: GCC 12 warns (-Wrestrict) falsely
  } else {
    c.delimiter = *text;
  }
}

// Start and end bytes are written either way: STX as 0x02, NMEA's start as "$".
std::optional<int> byte_value(Section& s, std::string_view key) {
  const toml::node* node = s.find(key);
  if (node == nullptr) return std::nullopt;
  if (node->is_string()) {
    const auto text = s.string(key);
    if (!text) return std::nullopt;
    if (text->size() == 1) return static_cast<unsigned char>((*text)[0]);
    s.report(key, fmt::format("expected {}, got {}", kByteExpected, quote(*text)));
    return std::nullopt;
  }
  if (!node->is_integer()) {
    s.report(key, fmt::format("expected {}, got {}", kByteExpected, describe(*node)));
    return std::nullopt;
  }
  const auto value = s.integer(key, 0, 255);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

std::string byte_name(int b) {
  if (b >= 0x20 && b < 0x7f) return quote(std::string(1, static_cast<char>(b)));
  return fmt::format("0x{:02X}", b);
}

void check_framing_keys(Section& s, const SerialLineConfig& c) {
  switch (c.framing) {
    case Framing::kDelimiter:
      s.reject("end_byte", "only allowed with framing = \"start-end\"");
      s.reject("frame_length", "only allowed with framing = \"fixed\"");
      // Ambiguous: is the byte a frame's start or part of the previous one's end?
      if (const std::string ends = c.any_line_end ? "\r\n" : c.delimiter;
          c.start_byte && ends.find(static_cast<char>(*c.start_byte)) != std::string::npos) {
        s.report("start_byte", fmt::format("expected a byte that is not part of the delimiter "
                                           "{}, got {}",
                                           quote(c.any_line_end ? kAnyLineEnd : c.delimiter),
                                           byte_name(*c.start_byte)));
      }
      break;
    case Framing::kStartEnd:
      s.reject("delimiter", "only allowed with framing = \"delimiter\"");
      s.reject("frame_length", "only allowed with framing = \"fixed\"");
      if (!s.has("start_byte")) s.missing("start_byte", "framing \"start-end\" needs a start_byte");
      if (!s.has("end_byte")) s.missing("end_byte", "framing \"start-end\" needs an end_byte");
      if (c.start_byte && c.end_byte && *c.start_byte == *c.end_byte) {
        s.report("end_byte", fmt::format("expected an end byte different from start_byte ({})",
                                         byte_name(*c.start_byte)));
      }
      break;
    case Framing::kFixed:
      s.reject("delimiter", "only allowed with framing = \"delimiter\"");
      s.reject("end_byte", "only allowed with framing = \"start-end\"");
      s.reject("max_frame", "not used with framing = \"fixed\" (frame_length is the length)");
      if (!s.has("frame_length")) {
        s.missing("frame_length", "framing \"fixed\" needs frame_length, the bytes per frame");
      }
      break;
  }
}

// A checksum must fit the framing: a binary CRC may contain the delimiter or
// end byte and would cut frames at random, NMEA's "*HH" lives in text lines.
void check_checksum_fit(Section& s, const SerialLineConfig& c, bool format_known) {
  const std::string kind = quote(to_string(c.checksum));
  if (c.checksum == ChecksumKind::kNone || c.checksum == ChecksumKind::kNmeaXor) {
    const std::string_view why = c.checksum == ChecksumKind::kNone
                                     ? "only allowed with a checksum"
                                     : "not used with checksum \"nmea-xor\" (always two hex "
                                       "digits after '*', at the end of the line)";
    s.reject("checksum_position", why);
    s.reject("checksum_format", why);
    if (c.checksum == ChecksumKind::kNmeaXor && c.framing != Framing::kDelimiter) {
      s.report("checksum", fmt::format("checksum \"nmea-xor\" needs framing = \"delimiter\" (a "
                                       "line ending in \"*HH\"), not {}",
                                       quote(to_string(c.framing))));
    }
    return;
  }
  if (c.checksum_position == ChecksumPosition::kAfterEnd && c.framing != Framing::kStartEnd) {
    s.report("checksum_position", fmt::format("\"after-end\" needs framing = \"start-end\", not {}",
                                              quote(to_string(c.framing))));
    return;
  }
  if (!format_known || c.checksum_format != ChecksumFormat::kBinary) return;
  const std::string_view key = s.has("checksum_format") ? "checksum_format" : "checksum";
  if (c.framing == Framing::kDelimiter) {
    s.report(key, fmt::format("a binary {} checksum can contain the delimiter bytes and cut a "
                              "frame short; use checksum_format = \"hex\", or framing "
                              "\"start-end\" or \"fixed\"",
                              kind));
  } else if (c.framing == Framing::kStartEnd && c.checksum_position == ChecksumPosition::kEnd) {
    s.report(key, fmt::format("a binary {} checksum before the end byte can contain the end "
                              "byte and cut a frame short; use checksum_position = "
                              "\"after-end\" or checksum_format = \"hex\"",
                              kind));
  }
}

void check_parse_keys(Section& s, SerialLineConfig& c, SerialPointContext& ctx) {
  switch (c.parse) {
    case ParseMode::kFields:
      s.reject("assign", "only allowed with parse = \"key-value\"");
      s.reject("pattern", "only allowed with parse = \"regex\"");
      break;
    case ParseMode::kKeyValue:
      s.reject("pattern", "only allowed with parse = \"regex\"");
      break;
    case ParseMode::kRegex: {
      s.reject("separator", "not used with parse = \"regex\" (the pattern says it all)");
      s.reject("assign", "only allowed with parse = \"key-value\"");
      if (!s.has("pattern")) {
        s.missing("pattern", "parse \"regex\" needs a pattern with named groups");
        break;
      }
      if (c.pattern.empty()) break;  // reported by the read
      PatternInfo info = PcreRegex::inspect(c.pattern);
      if (!info.error.empty()) {
        s.report("pattern", fmt::format("regular expression {} does not compile: {} at offset {}",
                                        quote(c.pattern), info.error, info.offset));
      } else {
        ctx.groups = std::move(info.group_names);
      }
      break;
    }
  }
}

SerialPointContext read_serial_line(Section& s, SerialLineConfig& c) {
  SerialPointContext ctx;
  read_serial_settings(s, c);
  assign(c.flow_control, s.choice("flow_control", kFlowControls));

  const auto framing = s.choice("framing", kFramings);
  assign(c.framing, framing);
  read_delimiter(s, c);
  if (const auto b = byte_value(s, "start_byte")) c.start_byte = *b;
  if (const auto b = byte_value(s, "end_byte")) c.end_byte = *b;
  const auto frame_length = s.integer("frame_length", 1, kLargestFrame);
  assign(c.frame_length, frame_length);
  const auto max_frame = s.integer("max_frame", 1, kLargestFrame);
  assign(c.max_frame, max_frame);

  const auto checksum = s.choice("checksum", kChecksumKinds);
  assign(c.checksum, checksum);
  const auto position = s.choice("checksum_position", kChecksumPositions);
  assign(c.checksum_position, position);
  const auto format = s.choice("checksum_format", kChecksumFormats);
  assign(c.checksum_format, format);

  const auto parse = s.choice("parse", kParseModes);
  assign(c.parse, parse);
  const auto separator = s.non_empty_string("separator", Need::kOptional);
  assign(c.separator, separator);
  assign(c.assign, s.non_empty_string("assign", Need::kOptional));
  assign(c.pattern, s.non_empty_string("pattern", Need::kOptional));

  const auto mode = s.choice("mode", kLineModes);
  assign(c.mode, mode);
  assign(c.request, s.non_empty_string("request", Need::kOptional));
  if (const auto stale = s.duration("stale_after", bounds::kStaleAfter)) c.stale_after = *stale;

  // Combinations, each only when every value it uses was valid (one mistake,
  // one message).
  const bool framing_ok = framing || !s.has("framing");
  const bool checksum_ok = checksum || !s.has("checksum");
  const bool position_ok = position || !s.has("checksum_position");
  const bool format_ok = format || !s.has("checksum_format");
  if (framing_ok) check_framing_keys(s, c);
  if (framing_ok && checksum_ok && position_ok) check_checksum_fit(s, c, format_ok);
  if (framing_ok && checksum_ok && format_ok && c.framing == Framing::kFixed && frame_length) {
    const int overhead =
        static_cast<int>(checksum_length(c.checksum, c.checksum_format)) + (c.start_byte ? 1 : 0);
    if (c.frame_length <= overhead) {
      s.report("frame_length",
               fmt::format("expected more than the {} bytes of start byte and checksum, got {}",
                           overhead, c.frame_length));
    }
  }
  if (parse || !s.has("parse")) {
    ctx.parse = c.parse;
    check_parse_keys(s, c, ctx);
  }
  if (mode || !s.has("mode")) {
    if (c.mode == LineMode::kStreaming) {
      s.reject("request", "only allowed with mode = \"request\"");
    } else {
      if (!s.has("request")) s.missing("request", "mode \"request\" needs the request to send");
      s.reject("stale_after",
               "only allowed with mode = \"streaming\" (in request mode a missing reply is a "
               "timeout)");
    }
  }
  // n fields need at least n - 1 separators: a longer index cannot be in any frame.
  const bool size_ok =
      c.framing == Framing::kFixed ? frame_length.has_value() : (max_frame || !s.has("max_frame"));
  if (framing_ok && size_ok && (separator || !s.has("separator"))) {
    const int largest = c.framing == Framing::kFixed ? c.frame_length : c.max_frame;
    ctx.largest_frame = largest;
    ctx.last_field = largest / static_cast<int>(c.separator.size());
  }
  ctx.separator = c.separator;
  return ctx;
}

class PointsOfDevice final : public PointReader {
 public:
  explicit PointsOfDevice(SerialPointContext context) : context_(std::move(context)) {}
  PointConfig read(Section& s) override { return read_serial_point(s, context_); }

 private:
  SerialPointContext context_;
};

class Schema final : public DriverSchema {
 public:
  std::span<const std::string_view> names() const override { return kNames; }
  std::span<const std::string_view> device_keys() const override { return kDeviceKeys; }
  std::span<const std::string_view> point_keys() const override { return kPointKeys; }
  std::string foreign_key_message(std::string_view) const override {
    return "only allowed for driver \"serial-line\"";
  }

  std::unique_ptr<PointReader> read_device(Section& s, std::string_view,
                                           DeviceConfig& device) const override {
    auto line = std::make_shared<SerialLineConfig>();
    auto points = std::make_unique<PointsOfDevice>(read_serial_line(s, *line));
    device.settings = std::move(line);
    return points;
  }

  void check_device(const Config&, const DeviceConfig& device, const std::string& key_base,
                    DeviceChecks& checks) const override {
    // The device owns its port like a bus does: nobody else may talk on it.
    checks.claim_port(line_of(device).port, key_base + ".port", device.pos);
  }
};

}  // namespace

std::shared_ptr<const config::DriverSchema> make_schema() {
  return std::make_shared<const Schema>();
}

}  // namespace fieldgate::serial
