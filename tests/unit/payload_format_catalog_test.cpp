// The payload formats config/ accepts are the encoders the program registered
// (bridge/payload_encoder.hpp), handed to load_config() in its catalog: a
// format that only this test registers is accepted by its name, and because
// its encoder publishes one message per device poll, its devices get the
// device topic and refuse per-point settings, by that flag and not by a name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "bridge/outgoing.hpp"
#include "bridge/payload_encoder.hpp"
#include "bridge/topics.hpp"
#include "config/driver_schema.hpp"
#include "config/route.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::bridge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "frames": one message per device poll, the points' names joined by ','.
class FramesEncoder final : public PayloadEncoder {
 public:
  [[nodiscard]] std::size_t group(std::span<const Reading> rows, bool may_wait) const override {
    (void)may_wait;
    std::size_t end = 1;
    while (end < rows.size() && rows[end].device == rows.front().device) ++end;
    return end;
  }
  void encode(std::span<const Reading> readings, OutgoingMessage& message) override {
    for (const Reading& r : readings) {
      if (!message.payload.empty()) message.payload += ',';
      message.payload += r.point;
    }
  }
  [[nodiscard]] bool per_device() const noexcept override { return true; }
};

EncoderRegistry with_frames() {
  EncoderRegistry encoders = make_default_encoders();
  encoders.add("frames", std::make_unique<FramesEncoder>());
  return encoders;
}

constexpr std::string_view kConfig = R"toml(
[gateway]
name = "gw"

[mqtt]
topic = "pt/{device}/{point}"
device_topic = "dev/{device}"

[[devices]]
name = "panel"
driver = "modbus-tcp"
host = "h"
payload = "frames"
points = [{ name = "p1", kind = "coil", address = 0 },
          { name = "p2", kind = "coil", address = 1 }]

[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
points = [{ name = "v", kind = "coil", address = 0 }]
)toml";

std::string errors_of(std::string_view toml, const config::SchemaCatalog& catalog) {
  try {
    (void)config::load_config_string(toml, "t.toml", catalog);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loaded without error:\n" << toml;
  return {};
}

std::string with_point_topic(std::string_view toml) {
  std::string out(toml);
  const std::string plain = R"({ name = "p1", kind = "coil", address = 0 })";
  out.replace(out.find(plain), plain.size(),
              R"({ name = "p1", kind = "coil", address = 0, topic = "x/{point}" })");
  return out;
}

TEST(PayloadFormatCatalog, HoldsTheRegisteredFormatsInRegistrationOrder) {
  const config::SchemaCatalog catalog = test_support::catalog_with(with_frames());
  EXPECT_THAT(catalog.format_names(),
              ElementsAre("json", "value", "device-json", "sparkplug-b", "frames"));
  ASSERT_NE(catalog.find_format("frames"), nullptr);
  EXPECT_TRUE(catalog.find_format("frames")->per_device);
  EXPECT_TRUE(catalog.find_format("device-json")->per_device);
  EXPECT_FALSE(catalog.find_format("value")->per_device);
  EXPECT_EQ(catalog.find_format("csv"), nullptr);
}

TEST(PayloadFormatCatalog, ATestRegisteredPerDeviceFormatGetsDeviceTopicRouting) {
  const config::Config c =
      config::load_config_string(kConfig, "t.toml", test_support::catalog_with(with_frames()));
  const config::DeviceConfig& panel = c.devices.at(0);
  ASSERT_TRUE(panel.payload.has_value());
  EXPECT_EQ(panel.payload->name, "frames");
  EXPECT_TRUE(panel.payload->per_device);

  const config::RouteRule rule = config::resolve_route(c, &panel, &panel.points.at(0));
  EXPECT_TRUE(rule.per_device);
  EXPECT_EQ(rule.payload, "frames");
  EXPECT_EQ(rule.topic_template, "dev/{device}");

  const TopicMap topics(c);
  const Route route = topics.route("panel", "p1", "");
  EXPECT_EQ(route.topic, "dev/panel");
  EXPECT_EQ(route.payload, "frames");
  EXPECT_TRUE(route.per_device);
  EXPECT_EQ(topics.command_route("panel", "p1", "").command, "dev/panel/p1/set");
  EXPECT_EQ(topics.route("meter", "v", "").topic, "pt/meter/v");  // [mqtt]'s json

  // The forwarder's plan: one "frames" message for the panel's poll, on its
  // device topic, and the meter's reading by itself.
  std::vector<Reading> rows(3);
  rows[0].device = rows[1].device = "panel";
  rows[0].point = "p1";
  rows[1].point = "p2";
  rows[2].device = "meter";
  rows[2].point = "v";
  EncoderRegistry encoders = with_frames();
  const auto plan = detail::plan_messages(rows, topics, encoders, 10, false);
  ASSERT_EQ(plan.size(), 2U);
  EXPECT_EQ(plan[0].route.topic, "dev/panel");
  EXPECT_EQ(plan[0].payload, "p1,p2");
  EXPECT_EQ(plan[0].count, 2U);
  EXPECT_EQ(plan[1].route.topic, "pt/meter/v");
}

TEST(PayloadFormatCatalog, PerPointSettingsAreRefusedByTheFlagNotTheName) {
  EXPECT_THAT(errors_of(with_point_topic(kConfig), test_support::catalog_with(with_frames())),
              HasSubstr("devices[0].points[0].topic: not allowed with payload \"frames\" "
                        "(devices[0].payload): the device publishes one message per poll with all "
                        "its points, so a per-point topic cannot apply"));
}

TEST(PayloadFormatCatalog, ANameNoEncoderHasIsRefusedWithTheRegisteredOnes) {
  // fieldgate's own formats do not know "frames"...
  EXPECT_THAT(
      errors_of(kConfig, test_support::default_schemas()),
      HasSubstr("devices[0].payload: expected one of json, value, device-json, sparkplug-b; got "
                "\"frames\""));
  // ...and with it registered, the list grows in registration order.
  std::string csv(kConfig);
  csv.replace(csv.find("\"frames\""), 8, "\"csv\"");
  EXPECT_THAT(
      errors_of(csv, test_support::catalog_with(with_frames())),
      HasSubstr(
          "devices[0].payload: expected one of json, value, device-json, sparkplug-b, frames; "
          "got \"csv\""));
}

}  // namespace
}  // namespace fieldgate::bridge
