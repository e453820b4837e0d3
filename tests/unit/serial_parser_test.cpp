// FrameParser and convert(): fields by index, key=value pairs, KEY,VALUE
// alternation, PCRE2 named groups with optional parts, split into several
// points, every type, and refusal of anything that is not a clean value.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "drivers/serial/parser.hpp"

namespace fieldgate::serial {
namespace {

using State = PointText::State;

config::PointConfig point(const std::string& name) {
  config::PointConfig p;
  p.name = name;
  return p;
}

config::DeviceConfig device(ParseMode mode) {
  config::DeviceConfig d;
  d.name = "dev";
  d.driver = "serial-line";
  serial::edit_line_of(d).parse = mode;
  return d;
}

std::vector<std::string> texts(const FrameParser::Result& r) {
  std::vector<std::string> out;
  for (const auto& p : r.points) {
    out.push_back(p.state == State::kText     ? p.text
                  : p.state == State::kAbsent ? "<absent>"
                                              : "<error>");
  }
  return out;
}

TEST(SerialParserTest, FieldsByIndexWithMissingTrailingFields) {
  auto d = device(ParseMode::kFields);
  serial::edit_line_of(d).separator = ";";
  for (int i : {0, 2, 5}) {
    d.points.push_back(point("f" + std::to_string(i)));
    serial::edit_point_of(d.points.back()).field = i;
  }
  const FrameParser parser(d);
  EXPECT_EQ(texts(parser.parse("a;b;c")), (std::vector<std::string>{"a", "c", "<absent>"}));
  EXPECT_EQ(texts(parser.parse("a;;;;;z")), (std::vector<std::string>{"a", "", "z"}));
}

TEST(SerialParserTest, KeyValuePairsInAnyOrder) {
  auto d = device(ParseMode::kKeyValue);
  serial::edit_line_of(d).separator = " ";
  serial::edit_line_of(d).assign = "=";
  for (const char* key : {"T", "RH", "P"}) {
    d.points.push_back(point(key));
    serial::edit_point_of(d.points.back()).key = key;
  }
  const FrameParser parser(d);
  EXPECT_EQ(texts(parser.parse("RH=45.2 T=21.5 X=9")),
            (std::vector<std::string>{"21.5", "45.2", "<absent>"}));
}

TEST(SerialParserTest, KeyValueAlternatingWhenAssignEqualsSeparator) {
  auto d = device(ParseMode::kKeyValue);
  serial::edit_line_of(d).separator = ",";
  serial::edit_line_of(d).assign = ",";
  for (const char* key : {"HR", "SPO2", "NIBP"}) {
    d.points.push_back(point(key));
    serial::edit_point_of(d.points.back()).key = key;
  }
  // One field split into two points: systolic and diastolic.
  d.points.push_back(point("dia"));
  serial::edit_point_of(d.points.back()).key = "NIBP";
  serial::edit_point_of(d.points.back()).split = "/";
  serial::edit_point_of(d.points.back()).part = 1;
  serial::edit_point_of(d.points[2]).split = "/";
  const FrameParser parser(d);
  EXPECT_EQ(texts(parser.parse("HR,72,SPO2,98,RESP,16,NIBP,120/80")),
            (std::vector<std::string>{"72", "98", "120", "80"}));
  EXPECT_EQ(texts(parser.parse("HR,72,SPO2,98,RESP,16")),
            (std::vector<std::string>{"72", "98", "<absent>", "<absent>"}));
  // "120" without a second part: that point is an error, not a value.
  EXPECT_EQ(texts(parser.parse("NIBP,120")),
            (std::vector<std::string>{"<absent>", "<absent>", "120", "<error>"}));
}

TEST(SerialParserTest, RegexNamedGroupsAndAnOptionalGroup) {
  auto d = device(ParseMode::kRegex);
  serial::edit_line_of(d).pattern =
      R"(^(?<sign>[+-])\s*(?<weight>\d+\.\d+)\s*(?<unit>kg|lb)(?:\s+(?<stable>ST|US))?$)";
  for (const char* g : {"weight", "unit", "stable"}) {
    d.points.push_back(point(g));
    serial::edit_point_of(d.points.back()).group = g;
  }
  const FrameParser parser(d);
  const auto r = parser.parse("+ 12.345 kg ST");
  EXPECT_TRUE(r.matched);
  EXPECT_EQ(texts(r), (std::vector<std::string>{"12.345", "kg", "ST"}));
  // The optional group did not take part: absent, not empty.
  EXPECT_EQ(texts(parser.parse("-0.500lb")), (std::vector<std::string>{"0.500", "lb", "<absent>"}));
  EXPECT_FALSE(parser.parse("OVERLOAD").matched);
}

TEST(SerialParserTest, RegexErrorsAreRefusedAtConstruction) {
  auto d = device(ParseMode::kRegex);
  serial::edit_line_of(d).pattern = "(?<a>\\d+";
  d.points.push_back(point("a"));
  serial::edit_point_of(d.points.back()).group = "a";
  EXPECT_THROW(FrameParser{d}, std::invalid_argument);
  serial::edit_line_of(d).pattern = "(?<a>\\d+)";
  serial::edit_point_of(d.points.back()).group = "b";
  EXPECT_THROW(FrameParser{d}, std::invalid_argument);
}

TEST(SerialParserTest, ConvertNumbersWithScaleAndOffset) {
  auto p = point("t");
  serial::edit_point_of(p).type = SerialValueType::kNumber;
  EXPECT_EQ(std::get<double>(convert(" 21.5 ", p).value), 21.5);
  EXPECT_EQ(std::get<double>(convert("+7", p).value), 7.0);
  p.scale = 0.1;
  p.offset = -40;
  EXPECT_DOUBLE_EQ(std::get<double>(convert("650", p).value), 25.0);
  for (const char* bad : {"", "7x", "nan", "inf", "1.2.3", "--1"}) {
    const auto c = convert(bad, p);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(c.value)) << bad;
    EXPECT_NE(c.error.find("expected a number"), std::string::npos) << c.error;
  }
}

// Found by fuzzing (fuzz_serial_parser): a number that is finite as sent but
// not after scale and offset ("1e308" × 10) became an infinite reading.
TEST(SerialParserTest, ConvertRefusesANumberThatOverflowsWhenScaled) {
  auto p = point("t");
  serial::edit_point_of(p).type = SerialValueType::kNumber;
  p.scale = 10;
  const auto big = convert("1e308", p);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(big.value));
  EXPECT_NE(big.error.find("within range"), std::string::npos) << big.error;
  serial::edit_point_of(p).type = SerialValueType::kInt;
  p.scale = 1e300;
  EXPECT_TRUE(std::holds_alternative<std::monostate>(convert("1000000000", p).value));
  EXPECT_DOUBLE_EQ(std::get<double>(convert("9", p).value), 9e300);
}

TEST(SerialParserTest, ConvertIntegersStayIntegersWithoutScale) {
  auto p = point("hr");
  serial::edit_point_of(p).type = SerialValueType::kInt;
  EXPECT_EQ(std::get<std::int64_t>(convert("72", p).value), 72);
  EXPECT_EQ(std::get<std::int64_t>(convert("-3", p).value), -3);
  EXPECT_FALSE(convert("72.5", p).error.empty());
  EXPECT_FALSE(convert("99999999999999999999", p).error.empty());  // out of range, not wrapped
  p.scale = 0.5;
  EXPECT_EQ(std::get<double>(convert("3", p).value), 1.5);
}

TEST(SerialParserTest, ConvertBoolsAndStrings) {
  auto p = point("b");
  serial::edit_point_of(p).type = SerialValueType::kBool;
  for (const char* t : {"1", "true", "ON", "yes"}) EXPECT_TRUE(std::get<bool>(convert(t, p).value));
  for (const char* f : {"0", "False", "off", "NO"})
    EXPECT_FALSE(std::get<bool>(convert(f, p).value));
  EXPECT_FALSE(convert("2", p).error.empty());
  serial::edit_point_of(p).type = SerialValueType::kString;
  EXPECT_EQ(std::get<std::string>(convert("SN-42 ", p).value), "SN-42 ");
}

}  // namespace
}  // namespace fieldgate::serial
