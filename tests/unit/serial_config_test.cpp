// The serial-line keys of load_config(): every key into SerialLineConfig /
// SerialPointConfig, the defaults, byte values written either way, and the
// cardio example's documented settings. Exact error messages are golden
// cases (tests/testcases/serial-*).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "config/config.hpp"
#include "drivers/serial/settings.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::config {
namespace {

using serial::ChecksumFormat;
using serial::ChecksumKind;
using serial::ChecksumPosition;
using serial::Framing;
using serial::LineMode;
using serial::ParseMode;
using serial::SerialLineConfig;
using serial::SerialValueType;
using std::chrono::milliseconds;

constexpr const char* kEveryKey = R"toml(
[[devices]]
name = "scale"
driver = "serial-line"
port = "${FIELDGATE_TEST_SCALE_TTY:-/dev/ttyS4}"
baud = 19200
parity = "even"
data_bits = 7
stop_bits = 2
flow_control = "rtscts"
mode = "request"
request = "W\r\n"
response_timeout = "750ms"
poll_interval = "2s"
backoff_max = "10s"
framing = "start-end"
start_byte = 0x02
end_byte = "\u0003"
max_frame = 80
checksum = "crc16-ccitt"
checksum_position = "after-end"
checksum_format = "hex"
parse = "key-value"
separator = ";"
assign = ":"
qos = 2

  [[devices.points]]
  name = "sys"
  key = "BP"
  split = "/"
  part = 0
  type = "int"
  scale = 2.0
  offset = 1.5
  unit = "mmHg"
  topic = "beds/{device}/{point}"
  qos = 1
  retain = true
)toml";

TEST(SerialConfigTest, EveryKeyIsRead) {
  const Config c = fieldgate::test_support::load_config_string(kEveryKey, "inline.toml");
  ASSERT_EQ(c.devices.size(), 1u);
  const DeviceConfig& d = c.devices[0];
  EXPECT_EQ(d.driver, "serial-line");
  const SerialLineConfig& s = serial::line_of(d);
  EXPECT_EQ(s.port, "/dev/ttyS4");
  EXPECT_EQ(s.baud, 19200);
  EXPECT_EQ(s.parity, Parity::kEven);
  EXPECT_EQ(s.data_bits, 7);
  EXPECT_EQ(s.stop_bits, 2);
  EXPECT_EQ(s.flow_control, FlowControl::kRtsCts);
  EXPECT_EQ(s.mode, LineMode::kRequest);
  EXPECT_EQ(s.request, "W\r\n");
  EXPECT_EQ(d.response_timeout, milliseconds(750));
  EXPECT_EQ(d.poll_interval, milliseconds(2000));
  EXPECT_EQ(d.backoff_max, milliseconds(10000));
  EXPECT_EQ(s.framing, Framing::kStartEnd);
  EXPECT_EQ(s.start_byte, 0x02);
  EXPECT_EQ(s.end_byte, 0x03);  // a one-character string works as well as a number
  EXPECT_EQ(s.max_frame, 80);
  EXPECT_EQ(s.checksum, ChecksumKind::kCrc16Ccitt);
  EXPECT_EQ(s.checksum_position, ChecksumPosition::kAfterEnd);
  EXPECT_EQ(s.checksum_format, ChecksumFormat::kHex);
  EXPECT_EQ(s.parse, ParseMode::kKeyValue);
  EXPECT_EQ(s.separator, ";");
  EXPECT_EQ(s.assign, ":");
  EXPECT_EQ(d.qos, 2);

  ASSERT_EQ(d.points.size(), 1u);
  const PointConfig& p = d.points[0];
  EXPECT_EQ(serial::point_of(p).key, "BP");
  EXPECT_EQ(serial::point_of(p).split, "/");
  EXPECT_EQ(serial::point_of(p).part, 0);
  EXPECT_EQ(serial::point_of(p).type, SerialValueType::kInt);
  EXPECT_EQ(p.scale, 2.0);
  EXPECT_EQ(p.offset, 1.5);
  EXPECT_EQ(p.unit, "mmHg");
  EXPECT_EQ(p.topic, "beds/{device}/{point}");
  EXPECT_EQ(p.qos, 1);
  EXPECT_EQ(p.retain, true);
}

TEST(SerialConfigTest, DefaultsAreAStreamingLineOf8N1FieldsAt9600Baud) {
  const Config c = fieldgate::test_support::load_config_string(R"(
[[devices]]
name = "gps"
driver = "serial-line"
port = "/dev/ttyUSB0"
[[devices.points]]
name = "lat"
field = 2
)",
                                                               "inline.toml");
  const SerialLineConfig& s = serial::line_of(c.devices.at(0));
  EXPECT_EQ(s.baud, 9600);
  EXPECT_EQ(s.parity, Parity::kNone);
  EXPECT_EQ(s.data_bits, 8);
  EXPECT_EQ(s.stop_bits, 1);
  EXPECT_EQ(s.flow_control, FlowControl::kNone);
  EXPECT_EQ(s.mode, LineMode::kStreaming);
  EXPECT_EQ(s.framing, Framing::kDelimiter);
  EXPECT_EQ(s.delimiter, "\n");
  EXPECT_FALSE(s.start_byte);
  EXPECT_EQ(s.max_frame, 256);
  EXPECT_EQ(s.checksum, ChecksumKind::kNone);
  EXPECT_EQ(s.parse, ParseMode::kFields);
  EXPECT_EQ(s.separator, ",");
  EXPECT_FALSE(s.stale_after);
  EXPECT_EQ(serial::point_of(c.devices[0].points.at(0)).field, 2);
  EXPECT_EQ(serial::point_of(c.devices[0].points[0]).type, SerialValueType::kNumber);
}

TEST(SerialConfigTest, RegexPatternWithNamedGroupsLoads) {
  const Config c = fieldgate::test_support::load_config_string(R"(
[[devices]]
name = "scale"
driver = "serial-line"
port = "/dev/ttyUSB0"
parse = "regex"
pattern = '^(?<sign>[+-])(?<kg>\d+\.\d+)'
[[devices.points]]
name = "weight"
group = "kg"
)",
                                                               "inline.toml");
  EXPECT_EQ(serial::line_of(c.devices.at(0)).pattern, R"(^(?<sign>[+-])(?<kg>\d+\.\d+))");
  EXPECT_EQ(serial::point_of(c.devices[0].points.at(0)).group, "kg");
}

TEST(SerialConfigTest, ErrorsPointAtTheValueWithFileLineAndColumn) {
  try {
    (void)fieldgate::test_support::load_config_string(R"(
[[devices]]
name = "m"
driver = "serial-line"
port = "/dev/ttyUSB0"
parse = "regex"
pattern = '(?<hr>\d+'
[[devices.points]]
name = "hr"
group = "hr"
)",
                                                      "ward.toml");
    FAIL() << "loaded a pattern that does not compile";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.issues().size(), 1u) << e.what();
    const ConfigIssue& issue = e.issues()[0];
    EXPECT_EQ(issue.file, "ward.toml");
    EXPECT_EQ(issue.pos.line, 7);
    EXPECT_EQ(issue.pos.column, 11);
    EXPECT_EQ(issue.key_path, "devices[0].pattern");
    EXPECT_NE(issue.message.find("missing closing parenthesis at offset 9"), std::string::npos)
        << issue.message;
  }
}

TEST(SerialConfigTest, AnyLineEndIsADelimiterValueOfItsOwn) {
  const std::string device = R"(
[[devices]]
name = "probe"
driver = "serial-line"
port = "/dev/ttyUSB0"
delimiter = "any-line-end"
%START%
[[devices.points]]
name = "t"
field = 0
)";
  const auto with = [&](const std::string& start) {
    std::string text = device;
    text.replace(text.find("%START%"), 7, start);
    return text;
  };
  const Config c = fieldgate::test_support::load_config_string(with(""), "t.toml");
  EXPECT_TRUE(serial::line_of(c.devices.at(0)).any_line_end);
  EXPECT_TRUE(serial::line_of(
                  fieldgate::test_support::load_config_string(with("start_byte = \"$\""), "t.toml")
                      .devices.at(0))
                  .any_line_end);
  // A line end byte cannot start a frame whose end is any line end.
  try {
    (void)fieldgate::test_support::load_config_string(with("start_byte = \"\\r\""), "t.toml");
    FAIL() << "loaded";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "t.toml:7:14: devices[0].start_byte: expected a byte that is not part of the "
                 "delimiter \"any-line-end\", got 0x0D");
  }
  // An ordinary delimiter is not a line-end set, and is at most 16 bytes.
  EXPECT_FALSE(serial::line_of(fieldgate::test_support::load_config_string(R"(
[[devices]]
name = "probe"
driver = "serial-line"
port = "/dev/ttyUSB0"
delimiter = "\r\n"
[[devices.points]]
name = "t"
field = 0
)",
                                                                           "t.toml")
                                   .devices.at(0))
                   .any_line_end);
}

TEST(SerialConfigTest, CardioExampleIsAStreamingNmeaMonitorPublishedAtQos2) {
  ::unsetenv("MONITOR_TTY");
  const Config c = fieldgate::test_support::load_config(
      (std::filesystem::path(FIELDGATE_SOURCE_DIR) / "config/examples/cardio-monitor.toml")
          .string());
  ASSERT_EQ(c.devices.size(), 1u);
  const DeviceConfig& d = c.devices[0];
  EXPECT_EQ(d.driver, "serial-line");
  EXPECT_EQ(serial::line_of(d).port, "/dev/ttyUSB0");
  EXPECT_EQ(serial::line_of(d).checksum, ChecksumKind::kNmeaXor);
  EXPECT_EQ(serial::line_of(d).delimiter, "\r\n");
  EXPECT_EQ(serial::line_of(d).start_byte, '$');
  EXPECT_EQ(d.qos, 2);
  EXPECT_EQ(d.topic, "{site}/{device}/{point}");
  EXPECT_EQ(c.gateway.site, "ward-3");
  EXPECT_TRUE(serial::line_of(d).stale_after);
  ASSERT_EQ(d.points.size(), 5u);
  EXPECT_EQ(serial::point_of(d.points[3]).key, "NIBP");
  EXPECT_EQ(serial::point_of(d.points[4]).part, 1);
}

}  // namespace
}  // namespace fieldgate::config
