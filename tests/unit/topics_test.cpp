#include "bridge/topics.hpp"
#include "bridge/payload_formats.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldgate::bridge {
namespace {

using config::PayloadFormat;
using nlohmann::json;

config::PointConfig point(std::string name, std::string unit = {}) {
  config::PointConfig p;
  p.name = std::move(name);
  p.unit = std::move(unit);
  return p;
}

config::Config sample_config() {
  config::Config c;
  c.gateway.name = "gw1";
  c.gateway.site = "plant";
  c.mqtt.topic = "fieldgate/{site}/{gateway}/{device}/{point}";
  c.mqtt.qos = 1;

  config::DeviceConfig meter;  // [mqtt] defaults, one point with its own settings
  meter.name = "meter";
  meter.points.push_back(point("voltage", "V"));
  auto current = point("current", "A");
  current.topic = "custom/{device}/{point}/{unit}";
  current.qos = 2;
  current.retain = true;
  meter.points.push_back(current);
  c.devices.push_back(meter);

  config::DeviceConfig pump;  // device-level settings
  pump.name = "pump";
  pump.topic = "pumps/{device}/{point}";
  pump.qos = 0;
  pump.retain = true;
  pump.payload = PayloadFormat{"value", false};
  pump.points.push_back(point("speed", "rpm"));
  auto flow = point("flow", "m3/h");
  flow.qos = 2;  // the point wins over the device
  pump.points.push_back(flow);
  c.devices.push_back(pump);

  config::DeviceConfig panel;  // one message per poll
  panel.name = "panel";
  panel.payload = PayloadFormat{"device-json", true};
  panel.device_topic = "panels/{site}/{device}";
  panel.qos = 2;
  panel.points.push_back(point("p1"));
  c.devices.push_back(panel);
  return c;
}

Reading reading(std::string device, std::string point, Value value, std::uint64_t seq = 1) {
  Reading r;
  r.device = std::move(device);
  r.point = std::move(point);
  r.value = std::move(value);
  r.seq = seq;
  r.source_ts_ms = 1795610298543;  // 2026-11-25T12:38:18.543Z
  return r;
}

TEST(TopicMap, PointsWithoutSettingsGetTheMqttDefaults) {
  const TopicMap map(sample_config());
  const Route r = map.route("meter", "voltage", "V");
  EXPECT_EQ(r.topic, "fieldgate/plant/gw1/meter/voltage");
  EXPECT_EQ(r.qos, 1);
  EXPECT_FALSE(r.retain);
  EXPECT_EQ(r.payload, "json");
}

TEST(TopicMap, PointSettingsWinOverDeviceAndDefaults) {
  const TopicMap map(sample_config());
  const Route current = map.route("meter", "current", "A");
  EXPECT_EQ(current.topic, "custom/meter/current/A");
  EXPECT_EQ(current.qos, 2);
  EXPECT_TRUE(current.retain);

  const Route flow = map.route("pump", "flow", "m3/h");
  EXPECT_EQ(flow.topic, "pumps/pump/flow");
  EXPECT_EQ(flow.qos, 2);
  EXPECT_TRUE(flow.retain);  // from the device
  EXPECT_EQ(flow.payload, "value");
}

TEST(TopicMap, DeviceSettingsApplyToItsPoints) {
  const TopicMap map(sample_config());
  const Route speed = map.route("pump", "speed", "rpm");
  EXPECT_EQ(speed.topic, "pumps/pump/speed");
  EXPECT_EQ(speed.qos, 0);
  EXPECT_TRUE(speed.retain);
}

TEST(TopicMap, DeviceJsonRoutesUseTheDeviceTopic) {
  const TopicMap map(sample_config());
  const Route r = map.route("panel", "p1", "");
  EXPECT_EQ(r.topic, "panels/plant/panel");
  EXPECT_EQ(r.qos, 2);
  EXPECT_EQ(r.payload, "device-json");
  EXPECT_TRUE(r.per_device);
}

TEST(TopicMap, UnknownPointsAndDevicesFallBack) {
  const TopicMap map(sample_config());
  // A point removed by a reload keeps its device's settings...
  const Route gone = map.route("pump", "pressure", "bar");
  EXPECT_EQ(gone.topic, "pumps/pump/pressure");
  EXPECT_EQ(gone.qos, 0);
  EXPECT_EQ(gone.payload, "value");
  EXPECT_EQ(map.route("panel", "p9", "").topic, "panels/plant/panel");
  // ...a removed device gets the [mqtt] defaults, expanded with its names.
  const Route unknown = map.route("old-meter", "energy", "kWh");
  EXPECT_EQ(unknown.topic, "fieldgate/plant/gw1/old-meter/energy");
  EXPECT_EQ(unknown.qos, 1);
  EXPECT_EQ(unknown.payload, "json");
}

TEST(TopicMap, UnitsWithSlashesStayInOneLevel) {
  config::Config c = sample_config();
  c.mqtt.topic = "t/{point}/{unit}";
  const TopicMap with_unit(c);
  EXPECT_EQ(with_unit.route("unknown", "flow", "m3/h").topic, "t/flow/m3_h");
}

TEST(TopicMap, FindsConfiguredPointsByNameInNameOrder) {
  const TopicMap map(sample_config());
  ASSERT_EQ(map.size(), 5U);
  std::vector<std::string> order;
  for (std::size_t i = 0; i < map.size(); ++i) {
    const auto p = map.at(i);
    order.push_back(p.device->name + "/" + p.point->name);
    EXPECT_EQ(map.find(p.device->name, p.point->name), i);
  }
  EXPECT_THAT(order, ::testing::ElementsAre("meter/current", "meter/voltage", "panel/p1",
                                            "pump/flow", "pump/speed"));
  EXPECT_EQ(map.find("pump", "pressure"), std::nullopt);
  EXPECT_EQ(map.find("old-meter", "voltage"), std::nullopt);
  EXPECT_EQ(map.find("mete", "rvoltage"), std::nullopt);  // the names are not concatenated
}

TEST(TopicMap, SharesTheConfigurationAndUsesItsUnits) {
  auto shared = std::make_shared<const config::Config>(sample_config());
  const TopicMap map(shared);
  EXPECT_EQ(map.config(), shared);  // no copy of the points
  // A configured point is routed with its configured unit, whatever a
  // reading of it says (as when the routes were expanded at start).
  EXPECT_EQ(map.route("meter", "current", "mA").topic, "custom/meter/current/A");
  // An unknown one with the reading's.
  EXPECT_EQ(map.route("meter", "power", "W").topic, "fieldgate/plant/gw1/meter/power");
}

TEST(JsonPayload, HasTheDocumentedFieldsInOrder) {
  Reading r = reading("meter", "voltage", 230.5, 42);
  r.unit = "V";
  EXPECT_EQ(json_payload(r),
            R"({"value":230.5,"unit":"V","ts":"2026-11-25T12:38:18.543Z","ts_ms":1795610298543,)"
            R"("seq":42,"quality":"good"})");
}

TEST(JsonPayload, DoublesPrintShortestRoundTrip) {
  for (const double v : {0.1, 0.1 + 0.2, 1e300, -2.5e-320, 123456789.123456789, 1.0 / 3.0}) {
    const auto j = json::parse(json_payload(reading("d", "p", v)));
    EXPECT_EQ(j["value"].get<double>(), v);
  }
  EXPECT_THAT(json_payload(reading("d", "p", 0.1)), ::testing::HasSubstr(R"("value":0.1,)"));
  EXPECT_THAT(json_payload(reading("d", "p", 0.1 + 0.2)),
              ::testing::HasSubstr(R"("value":0.30000000000000004,)"));
}

TEST(JsonPayload, NonFiniteNumbersBecomeNullWithQualityKept) {
  for (const double v :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    const auto j = json::parse(json_payload(reading("d", "p", v)));
    EXPECT_TRUE(j["value"].is_null());
    EXPECT_EQ(j["quality"], "good");
    EXPECT_FALSE(j.contains("error"));
  }
}

TEST(JsonPayload, IntegersBoolsAndStrings) {
  const auto big = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(json::parse(json_payload(reading("d", "p", big)))["value"].get<std::int64_t>(), big);
  EXPECT_EQ(json::parse(json_payload(reading("d", "p", true)))["value"], true);
  const std::string tricky = "FG \"1\"\\\n\t\x01 \u00b0C";
  EXPECT_EQ(json::parse(json_payload(reading("d", "p", tricky)))["value"], tricky);
}

TEST(JsonPayload, InvalidUtf8FromADeviceStillMakesValidJson) {
  const std::string bytes("ok\xff\xfe", 4);
  const auto j = json::parse(json_payload(reading("d", "p", bytes)));
  EXPECT_EQ(j["value"], "ok\uFFFD\uFFFD");
}

TEST(JsonPayload, FailedReadsHaveNullValueQualityAndError) {
  Reading r = reading("meter", "voltage", std::monostate{}, 7);
  r.quality = Quality::kTimeout;
  r.error = "no answer within 1000 ms";
  r.unit = "V";
  const auto j = json::parse(json_payload(r));
  EXPECT_TRUE(j["value"].is_null());
  EXPECT_EQ(j["quality"], "timeout");
  EXPECT_EQ(j["error"], "no answer within 1000 ms");
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["unit"], "V");
}

TEST(JsonPayload, TimestampsBefore1970) {
  Reading r = reading("d", "p", 1.0);
  r.source_ts_ms = -1;
  EXPECT_EQ(json::parse(json_payload(r))["ts"], "1969-12-31T23:59:59.999Z");
}

TEST(ValuePayload, BareText) {
  EXPECT_EQ(value_payload(reading("d", "p", 230.5)), "230.5");
  EXPECT_EQ(value_payload(reading("d", "p", 0.1 + 0.2)), "0.30000000000000004");
  EXPECT_EQ(value_payload(reading("d", "p", std::int64_t{-42})), "-42");
  EXPECT_EQ(value_payload(reading("d", "p", false)), "false");
  EXPECT_EQ(value_payload(reading("d", "p", std::string("FG-1"))), "FG-1");
  Reading failed = reading("d", "p", std::monostate{});
  failed.quality = Quality::kException;
  EXPECT_EQ(value_payload(failed), "");
}

TEST(DeviceJsonPayload, GroupsOnePollsReadings) {
  std::vector<Reading> batch;
  batch.push_back(reading("panel", "voltage", 231.0, 10));
  batch.back().unit = "V";
  batch.push_back(reading("panel", "relay", true, 11));
  batch.push_back(reading("panel", "serial", std::monostate{}, 12));
  batch.back().quality = Quality::kBadResponse;
  batch.back().error = "CRC error";
  const std::string text = device_json_payload(batch);
  EXPECT_THAT(text, ::testing::StartsWith(R"({"device":"panel","ts":"2026-11-25T12:38:18.543Z",)"));
  const auto j = json::parse(text);
  EXPECT_EQ(j["ts_ms"], 1795610298543);
  EXPECT_EQ(j["seq_first"], 10);
  EXPECT_EQ(j["seq_last"], 12);
  ASSERT_EQ(j["points"].size(), 3U);
  EXPECT_EQ(j["points"]["voltage"]["value"], 231.0);
  EXPECT_EQ(j["points"]["voltage"]["unit"], "V");
  EXPECT_EQ(j["points"]["voltage"]["quality"], "good");
  EXPECT_EQ(j["points"]["voltage"]["seq"], 10);
  EXPECT_EQ(j["points"]["relay"]["value"], true);
  EXPECT_TRUE(j["points"]["serial"]["value"].is_null());
  EXPECT_EQ(j["points"]["serial"]["quality"], "bad_response");
  EXPECT_EQ(j["points"]["serial"]["error"], "CRC error");
}

}  // namespace
}  // namespace fieldgate::bridge
