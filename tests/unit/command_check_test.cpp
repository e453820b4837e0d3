// Commands before any bus traffic: payload parsing (bare values, JSON with id
// and ts) and the checks a value must pass (writable, kind, min/max, allowed).
#include "gateway/command_check.hpp"

#include <gtest/gtest.h>

namespace fieldgate::gateway {
namespace {

config::DeviceConfig modbus_device() {
  config::DeviceConfig d;
  d.name = "meter";
  d.driver = "modbus-tcp";
  return d;
}

config::PointConfig writable(config::ValueType type) {
  config::PointConfig p;
  p.name = "p";
  p.type = type;
  p.write.writable = true;
  return p;
}

TEST(CommandCheckTest, ParsesBareValuesAndJsonObjects) {
  EXPECT_EQ(parse_command_payload("21.5").value, Value(21.5));
  EXPECT_EQ(parse_command_payload(" 7\n").value, Value(std::int64_t{7}));
  EXPECT_EQ(parse_command_payload("true").value, Value(true));
  EXPECT_EQ(parse_command_payload("ON").value, Value(std::string("ON")));
  EXPECT_EQ(parse_command_payload("\"auto\"").value, Value(std::string("auto")));

  const auto j = parse_command_payload(R"({"value": 20, "id": "req-1", "ts": 1795610298543})");
  EXPECT_TRUE(j.error.empty());
  EXPECT_EQ(j.value, Value(std::int64_t{20}));
  EXPECT_EQ(j.id, "req-1");
  EXPECT_EQ(j.ts_ms, 1795610298543);
  EXPECT_EQ(parse_command_payload(R"({"value": false, "id": 42})").id, 42);
}

TEST(CommandCheckTest, UnusablePayloadsSayWhy) {
  EXPECT_EQ(parse_command_payload("").error, "empty payload");
  EXPECT_EQ(parse_command_payload(R"({"id": "x"})").error, "no \"value\" in the JSON object");
  const auto no_value = parse_command_payload(R"({"id": "x"})");
  EXPECT_EQ(no_value.id, "x");  // still echoed in the result
  EXPECT_EQ(parse_command_payload(R"({"value": [1]})").error,
            "value: expected a number, true/false or a string");
  EXPECT_EQ(parse_command_payload(R"({"value": 1, "ts": "now"})").error,
            "ts: expected Unix time in milliseconds (an integer)");
  EXPECT_EQ(parse_command_payload("null").error,
            "expected a number, true/false, a string or a JSON object");
}

TEST(CommandCheckTest, NothingIsWritableUnlessConfigured) {
  config::PointConfig p = writable(config::ValueType::kUInt16);
  p.write.writable = false;
  Value v = std::int64_t{1};
  EXPECT_EQ(check_write(modbus_device(), p, v),
            "not writable (writable = true is not set for this point)");
}

TEST(CommandCheckTest, LimitsAndAllowedValues) {
  auto p = writable(config::ValueType::kInt16);
  p.write.min = 5;
  p.write.max = 30;
  Value v = 21.5;
  EXPECT_EQ(check_write(modbus_device(), p, v), "");
  v = std::int64_t{31};
  EXPECT_EQ(check_write(modbus_device(), p, v), "out of range: 31 is above max 30");
  v = 4.9;
  EXPECT_EQ(check_write(modbus_device(), p, v), "out of range: 4.9 is below min 5");
  v = std::string("21");
  EXPECT_EQ(check_write(modbus_device(), p, v), "expected a number, got \"21\"");
  v = true;
  EXPECT_EQ(check_write(modbus_device(), p, v), "expected a number, got true");

  auto mode = writable(config::ValueType::kUInt16);
  mode.write.allowed = {1.0, 2.0, 5.0};
  v = std::int64_t{2};
  EXPECT_EQ(check_write(modbus_device(), mode, v), "");
  v = std::int64_t{3};
  EXPECT_EQ(check_write(modbus_device(), mode, v), "not allowed: 3 is not one of 1, 2, 5");

  auto text = writable(config::ValueType::kString);
  text.write.allowed = {std::string("auto"), std::string("manual")};
  v = std::string("manual");
  EXPECT_EQ(check_write(modbus_device(), text, v), "");
  v = std::string("off");
  EXPECT_EQ(check_write(modbus_device(), text, v),
            "not allowed: \"off\" is not one of \"auto\", \"manual\"");
}

TEST(CommandCheckTest, BoolPointsTakeOnOffAndOneZero) {
  auto relay = writable(config::ValueType::kBool);
  for (const auto& [given, expected] :
       std::vector<std::pair<Value, bool>>{{Value(true), true},
                                           {Value(std::int64_t{0}), false},
                                           {Value(std::string("ON")), true},
                                           {Value(std::string("off")), false},
                                           {Value(std::string("True")), true}}) {
    Value v = given;
    EXPECT_EQ(check_write(modbus_device(), relay, v), "") << format_value(given);
    EXPECT_EQ(v, Value(expected));
  }
  Value v = std::int64_t{2};
  EXPECT_EQ(check_write(modbus_device(), relay, v), "expected true or false, got 2");
  // A reset coil that may only be set, never cleared.
  relay.write.allowed = {true};
  v = false;
  EXPECT_EQ(check_write(modbus_device(), relay, v), "not allowed: false is not one of true");
}

TEST(CommandCheckTest, SerialLinePointsUseTheirOwnTypes) {
  config::DeviceConfig d;
  d.name = "scale";
  d.driver = "serial-line";
  config::PointConfig p;
  p.name = "tare";
  p.serial.type = config::SerialValueType::kInt;
  p.write.writable = true;
  p.write.max = 100;
  Value v = std::int64_t{50};
  EXPECT_EQ(check_write(d, p, v), "");
  v = std::int64_t{101};
  EXPECT_EQ(check_write(d, p, v), "out of range: 101 is above max 100");
}

}  // namespace
}  // namespace fieldgate::gateway
