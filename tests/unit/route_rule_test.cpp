// config::resolve_route, the one precedence rule (point → device → [mqtt])
// that the bridge publishes by and the load-time checks check by.
#include "config/route.hpp"

#include <gtest/gtest.h>

namespace fieldgate::config {
namespace {

TEST(RouteRuleTest, PointThenDeviceThenMqtt) {
  Config c;
  c.mqtt.topic = "m/{device}/{point}";
  c.mqtt.qos = 1;
  c.mqtt.retain = false;
  DeviceConfig device;
  device.topic = "d/{device}/{point}";
  device.qos = 0;
  PointConfig plain;
  PointConfig own;
  own.topic = "p/{point}";
  own.qos = 2;
  own.retain = true;

  const RouteRule from_point = resolve_route(c, &device, &own);
  EXPECT_EQ(from_point.topic_template, "p/{point}");
  EXPECT_EQ(from_point.topic_from, RouteLevel::kPoint);
  EXPECT_EQ(from_point.qos, 2);
  EXPECT_TRUE(from_point.retain);

  const RouteRule from_device = resolve_route(c, &device, &plain);
  EXPECT_EQ(from_device.topic_template, "d/{device}/{point}");
  EXPECT_EQ(from_device.topic_from, RouteLevel::kDevice);
  EXPECT_EQ(from_device.qos, 0);
  EXPECT_FALSE(from_device.retain);  // not set on the device: [mqtt]'s

  const RouteRule unknown = resolve_route(c, nullptr, nullptr);
  EXPECT_EQ(unknown.topic_template, "m/{device}/{point}");
  EXPECT_EQ(unknown.topic_from, RouteLevel::kMqtt);
  EXPECT_EQ(unknown.qos, 1);
  EXPECT_EQ(unknown.payload, "json");
  EXPECT_FALSE(unknown.per_device);
}

TEST(RouteRuleTest, DeviceJsonUsesTheDeviceTopicAndIgnoresPointSettings) {
  Config c;
  c.mqtt.device_topic = "m/{device}";
  DeviceConfig device;
  device.payload = PayloadFormat{"device-json", true};
  device.retain = true;
  PointConfig point;
  point.topic = "p/{point}";  // the loader rejects these; the rule ignores them
  point.qos = 2;

  RouteRule rule = resolve_route(c, &device, &point);
  EXPECT_TRUE(rule.per_device);
  EXPECT_EQ(rule.topic_template, "m/{device}");
  EXPECT_EQ(rule.topic_from, RouteLevel::kMqtt);
  EXPECT_EQ(rule.qos, c.mqtt.qos);
  EXPECT_TRUE(rule.retain);

  device.device_topic = "d/{device}";
  rule = resolve_route(c, &device, nullptr);
  EXPECT_EQ(rule.topic_template, "d/{device}");
  EXPECT_EQ(rule.topic_from, RouteLevel::kDevice);

  c.mqtt.payload = PayloadFormat{"device-json", true};  // from [mqtt] too
  EXPECT_TRUE(resolve_route(c, nullptr, nullptr).per_device);
  EXPECT_EQ(payload_format(c, nullptr), (PayloadFormat{"device-json", true}));
}

}  // namespace
}  // namespace fieldgate::config
