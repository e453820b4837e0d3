// Commands before any bus traffic: payload parsing (bare values, JSON with id
// and ts), its bounds for hostile input (size, UTF-8, nesting, ts), and the
// checks a value must pass (writable, kind, min/max, allowed).
#include "gateway/command_check.hpp"
#include "tests/support/config_loading.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace fieldgate::gateway {
namespace {

constexpr std::uint64_t kMaxSize = 64 * 1024;

ParsedCommand parse(std::string_view payload) {
  return parse_command_payload(payload, kMaxSize);
}

config::DeviceConfig modbus_device() {
  config::DeviceConfig d;
  d.name = "meter";
  d.driver = "modbus-tcp";
  return d;
}

// A writable point that takes `kind` (what the driver's schema derives from
// the point's type: a Modbus int16 or a serial-line int take numbers, ...).
config::PointConfig writable(config::ValueKind kind) {
  config::PointConfig p;
  p.name = "p";
  p.value_kind = kind;
  p.edit_write().writable = true;
  return p;
}

TEST(CommandCheckTest, ParsesBareValuesAndJsonObjects) {
  EXPECT_EQ(parse("21.5").value, Value(21.5));
  EXPECT_EQ(parse(" 7\n").value, Value(std::int64_t{7}));
  EXPECT_EQ(parse("true").value, Value(true));
  EXPECT_EQ(parse("ON").value, Value(std::string("ON")));
  EXPECT_EQ(parse("\"auto\"").value, Value(std::string("auto")));

  const auto j = parse(R"({"value": 20, "id": "req-1", "ts": 1795610298543})");
  EXPECT_TRUE(j.error.empty());
  EXPECT_EQ(j.value, Value(std::int64_t{20}));
  EXPECT_EQ(j.id, "req-1");
  EXPECT_EQ(j.ts_ms, 1795610298543);
  EXPECT_EQ(parse(R"({"value": false, "id": 42})").id, 42);
}

TEST(CommandCheckTest, UnusablePayloadsSayWhy) {
  EXPECT_EQ(parse("").error, "empty payload");
  EXPECT_EQ(parse(R"({"id": "x"})").error, "no \"value\" in the JSON object");
  const auto no_value = parse(R"({"id": "x"})");
  EXPECT_EQ(no_value.id, "x");  // still echoed in the result
  EXPECT_EQ(parse(R"({"value": [1]})").error, "value: expected a number, true/false or a string");
  EXPECT_EQ(parse(R"({"value": 1, "ts": "now"})").error,
            "ts: expected Unix time in milliseconds (an integer)");
  EXPECT_EQ(parse("null").error, "expected a number, true/false, a string or a JSON object");
}

TEST(CommandCheckTest, BytesThatAreNotUtf8AreRefused) {
  // Found in issue 14: such a payload, as a string point's value, aborted the
  // gateway when its result was encoded.
  EXPECT_EQ(parse("\xff\xfe").error, "payload is not valid UTF-8 (byte 0xFF at offset 0)");
  EXPECT_FALSE(parse("\xff\xfe").value);
  EXPECT_EQ(parse("{\"value\": \"caf\xe9\", \"id\": 1}").error,
            "payload is not valid UTF-8 (byte 0xE9 at offset 14)");
  EXPECT_EQ(parse("ON\xc0\x80").error, "payload is not valid UTF-8 (byte 0xC0 at offset 2)")
      << "an overlong NUL";
  EXPECT_EQ(parse("21.5 \xc2\xb0"
                  "C")
                .value,
            Value(std::string("21.5 \xc2\xb0"
                              "C")));
  EXPECT_EQ(parse(R"({"value": "Zürich"})").value, Value(std::string("Zürich")));
}

TEST(CommandCheckTest, NestingDeeperThanTheLimitIsRefused) {
  // Found in issue 14: 60,000 nested arrays in "id" overflowed the MQTT
  // client thread's stack. At the largest command_max_size (1 MiB) they fit.
  const auto parse_large = [](std::string_view payload) {
    return parse_command_payload(payload, 1024 * 1024);
  };
  const auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') + "1" +
           std::string(static_cast<std::size_t>(depth), ']');
  };
  const std::string too_deep = "JSON nested deeper than 32 levels";
  const auto deep = parse_large(R"({"value": 1, "id": )" + nested(60'000) + "}");
  EXPECT_EQ(deep.error, too_deep);
  EXPECT_FALSE(deep.value);
  EXPECT_TRUE(deep.id.is_null()) << "nothing of it is kept";
  EXPECT_EQ(parse_large(nested(60'000)).error, too_deep) << "not taken for a string's text";
  EXPECT_EQ(parse(std::string(60'000, '[')).error, too_deep) << "unclosed, within 64 KiB";
  EXPECT_EQ(parse(R"({"value": 1, "id": )" + nested(32) + "}").error, too_deep);
  // The object is level 1: 31 more are fine.
  const auto deepest = parse(R"({"value": 1, "id": )" + nested(31) + "}");
  EXPECT_EQ(deepest.error, "");
  EXPECT_EQ(deepest.value, Value(std::int64_t{1}));
  EXPECT_EQ(deepest.id.dump(), nested(31));
}

TEST(CommandCheckTest, APayloadOverTheSizeLimitIsNotParsed) {
  EXPECT_EQ(parse_command_payload(std::string(300, '1'), 256).error,
            "payload of 300 bytes is larger than command_max_size (256 bytes)");
  EXPECT_EQ(parse_command_payload(std::string(256, '1'), 256).error, "");
  // Counted before anything else: a huge payload of bad bytes says "too large".
  EXPECT_EQ(parse_command_payload(std::string(1000, '\xff'), 256).error,
            "payload of 1000 bytes is larger than command_max_size (256 bytes)");
}

TEST(CommandCheckTest, BrokenJsonIsNotTakenForText) {
  // It would be written to a string point as it is.
  const std::string why = "not valid JSON (a payload starting with '{' or '[' must be JSON)";
  EXPECT_EQ(parse(R"({"value": "auto")").error, why);
  EXPECT_EQ(parse("[1, 2").error, why);
  EXPECT_EQ(parse(R"({"value": "\udc00"})").error, why) << "a lone surrogate escape";
  EXPECT_EQ(parse("auto mode").value, Value(std::string("auto mode")));
}

TEST(CommandCheckTest, TsIsCheckedWithoutOverflowAndNotInTheFuture) {
  using std::chrono::milliseconds;
  constexpr std::int64_t kNow = 1'795'610'298'543;
  constexpr auto kMaxAge = milliseconds(10'000);
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  // Found in issue 14: INT64_MIN overflowed the age and counted as fresh.
  auto age = check_command_age(kMin, kNow, kMaxAge);
  EXPECT_EQ(age.status, "expired");
  EXPECT_EQ(age.error,
            "the command is 9223373832465074351 ms old (ts), more than command_max_age (10000 ms)");
  EXPECT_EQ(check_command_age(0, kNow, kMaxAge).status, "expired");
  EXPECT_EQ(check_command_age(kNow - 10'001, kNow, kMaxAge).status, "expired");
  age = check_command_age(kNow - 10'000, kNow, kMaxAge);
  EXPECT_EQ(age.status, "");
  EXPECT_EQ(age.age, milliseconds(10'000));
  // A ts in the future is no fresher than now: refused beyond the clock skew.
  age = check_command_age(kMax, kNow, kMaxAge);
  EXPECT_EQ(age.status, "rejected");
  EXPECT_EQ(age.error,
            "ts is 9223370241244477264 ms ahead of the gateway's clock (more than the 2000 ms "
            "allowed for clock skew)");
  EXPECT_EQ(check_command_age(kNow + 2'001, kNow, kMaxAge).status, "rejected");
  age = check_command_age(kNow + 2'000, kNow, kMaxAge);
  EXPECT_EQ(age.status, "");
  EXPECT_EQ(age.age, milliseconds(0));
  // A clock before 1970 (an RTC that lost its battery) cannot overflow either.
  EXPECT_EQ(check_command_age(kMax, -5, kMaxAge).status, "rejected");
  EXPECT_EQ(check_command_age(kMin, -5, kMaxAge).status, "expired");
  // A ts that is not an int64 is no ts.
  EXPECT_EQ(parse(R"({"value": 1, "ts": 18446744073709551615})").error,
            "ts: expected Unix time in milliseconds (an integer)");
}

TEST(CommandCheckTest, JsonForLogNeverThrowsAndIsBounded) {
  EXPECT_EQ(json_for_log(nlohmann::json("a\xff"
                                        "b")),
            "\"a\xef\xbf\xbd"
            "b\"");
  EXPECT_EQ(json_for_log(nlohmann::json(std::string(1000, 'x')), 10), "\"xxxxxxxxx… (1002 bytes)");
  EXPECT_EQ(json_for_log(nlohmann::json(21.5)), "21.5");
}

TEST(CommandCheckTest, NothingIsWritableUnlessConfigured) {
  config::PointConfig p = writable(config::ValueKind::kNumber);
  p.edit_write().writable = false;
  Value v = std::int64_t{1};
  EXPECT_EQ(check_write(modbus_device(), p, v),
            "not writable (writable = true is not set for this point)");
}

TEST(CommandCheckTest, LimitsAndAllowedValues) {
  auto p = writable(config::ValueKind::kNumber);
  p.edit_write().min = 5;
  p.edit_write().max = 30;
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

  auto mode = writable(config::ValueKind::kNumber);
  mode.edit_write().allowed = {1.0, 2.0, 5.0};
  v = std::int64_t{2};
  EXPECT_EQ(check_write(modbus_device(), mode, v), "");
  v = std::int64_t{3};
  EXPECT_EQ(check_write(modbus_device(), mode, v), "not allowed: 3 is not one of 1, 2, 5");

  auto text = writable(config::ValueKind::kString);
  text.edit_write().allowed = {std::string("auto"), std::string("manual")};
  v = std::string("manual");
  EXPECT_EQ(check_write(modbus_device(), text, v), "");
  v = std::string("off");
  EXPECT_EQ(check_write(modbus_device(), text, v),
            "not allowed: \"off\" is not one of \"auto\", \"manual\"");
}

TEST(CommandCheckTest, BoolPointsTakeOnOffAndOneZero) {
  auto relay = writable(config::ValueKind::kBool);
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
  relay.edit_write().allowed = {true};
  v = false;
  EXPECT_EQ(check_write(modbus_device(), relay, v), "not allowed: false is not one of true");
}

TEST(CommandCheckTest, SerialLinePointsUseTheirOwnTypes) {
  config::DeviceConfig d;
  d.name = "scale";
  d.driver = "serial-line";
  const config::PointConfig p = fieldgate::test_support::load_config_string(R"(
[[devices]]
name = "scale"
driver = "serial-line"
port = "/dev/ttyUSB0"
[[devices.points]]
name = "tare"
field = 0
type = "int"
writable = true
write_template = "T{value}"
max = 100
)",
                                                                            "t.toml")
                                    .devices.at(0)
                                    .points.at(0);
  Value v = std::int64_t{50};
  EXPECT_EQ(check_write(d, p, v), "");
  v = std::int64_t{101};
  EXPECT_EQ(check_write(d, p, v), "out of range: 101 is above max 100");
}

}  // namespace
}  // namespace fieldgate::gateway
