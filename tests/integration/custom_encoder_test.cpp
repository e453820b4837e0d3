// Proof of the payload-format seam (docs/ARCHITECTURE.md, "Adding a payload
// format or session hook"): a new format, "csv", whose encoder lives only in
// this file and is registered with one line, is named by `payload = "csv"` in
// a configuration file the loader accepts (it takes the format names from the
// encoders), and renders what a real mosquitto delivers — with no file in
// config/, bridge/, gateway/ or core/ touched for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bridge/forwarder.hpp"
#include "bridge/payload_encoder.hpp"
#include "config/config.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/support/fake_store.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

// "<n>;<seq>;<value>": n counts the messages of the current MQTT session, so
// the encoder keeps per-session state the way a Sparkplug sequence number
// would, started over by start_session() at each connect. Each reading goes
// to "<its topic>/csv" at QoS 2, to show an encoder may set the route too.
// One message per reading: per_device() keeps its default, false.
class CsvEncoder final : public bridge::PayloadEncoder {
 public:
  void encode(std::span<const Reading> readings, bridge::OutgoingMessage& message) override {
    const Reading& r = readings.front();
    const double value = std::holds_alternative<double>(r.value) ? std::get<double>(r.value) : 0;
    message.payload = fmt::format("{};{};{}", ++sent_in_session_, r.seq, value);
    message.route.topic += "/csv";
    message.route.qos = 2;
  }
  void start_session() override { sent_in_session_ = 0; }

 private:
  int sent_in_session_ = 0;
};

// The meter publishes "csv", the pump the built-in "value", the tank [mqtt]'s
// default "json".
constexpr const char* kConfig = R"toml(
[gateway]
name = "gw"

[mqtt]
broker = "{broker}"
reconnect_min = "100ms"
reconnect_max = "1s"

[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
payload = "csv"
points = [{{ name = "a", kind = "holding", address = 0 }},
          {{ name = "b", kind = "holding", address = 1 }}]

[[devices]]
name = "pump"
driver = "modbus-tcp"
host = "127.0.0.1"
payload = "value"
points = [{{ name = "speed", kind = "holding", address = 0 }}]

[[devices]]
name = "tank"
driver = "modbus-tcp"
host = "127.0.0.1"
points = [{{ name = "level", kind = "holding", address = 0 }}]
)toml";

TEST(CustomEncoderTest, ANewFormatIsNamedInTheConfigAndRendersWhatTheBrokerDelivers) {
  ScratchDir dir;
  Mosquitto broker(dir.path());
  FakeStore store;

  bridge::ForwarderParts parts;                               // the built-in formats…
  parts.encoders.add("csv", std::make_unique<CsvEncoder>());  // …and ours, by its name
  // Loaded as `fieldgate run` loads: the format names come from the encoders.
  const config::Config c = config::load_config_string(
      fmt::format(fmt::runtime(kConfig), fmt::arg("broker", broker.uri())), "custom.toml",
      test_support::catalog_with(parts.encoders));
  ASSERT_TRUE(c.devices.at(0).payload.has_value());
  EXPECT_EQ(c.devices.at(0).payload->name, "csv");
  EXPECT_FALSE(c.devices.at(0).payload->per_device);

  Subscriber sub(broker.uri(), "fieldgate/gw/#", 2);
  ForwarderRig fw(c, store, std::move(parts));
  fw->start();
  ASSERT_TRUE(wait_until([&] { return fw->stats().connected; }, 10s));
  store.append(make_poll("meter", {"a", "b"}, 1.5));
  store.append(make_poll("pump", {"speed"}, 7.0));
  store.append(make_poll("tank", {"level"}, 3.0));
  ASSERT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 20s));
  // Four readings' messages, besides the gateway's status (which may come first or last).
  ASSERT_TRUE(wait_until(
      [&] {
        const auto all = sub.messages();
        return std::count_if(all.begin(), all.end(), [](const auto& m) {
                 return !m.topic.starts_with("fieldgate/gw/status");
               }) >= 4;
      },
      10s));

  std::vector<std::pair<std::string, std::string>> received;
  std::string tank_json;
  for (const auto& m : sub.messages()) {
    if (m.topic.starts_with("fieldgate/gw/status")) continue;
    if (m.topic == "fieldgate/gw/tank/level") {
      tank_json = m.payload;
      continue;
    }
    received.emplace_back(m.topic, m.payload);
    if (m.topic.ends_with("/csv")) {
      EXPECT_EQ(m.qos, 2);
    }
  }
  EXPECT_THAT(received,
              ::testing::UnorderedElementsAre(
                  std::pair<std::string, std::string>{"fieldgate/gw/meter/a/csv", "1;1;1.5"},
                  std::pair<std::string, std::string>{"fieldgate/gw/meter/b/csv", "2;2;2.5"},
                  // The built-in formats are untouched.
                  std::pair<std::string, std::string>{"fieldgate/gw/pump/speed", "7"}));
  ASSERT_FALSE(tank_json.empty()) << "no json message for the tank";
  const auto tank = nlohmann::json::parse(tank_json);
  EXPECT_EQ(tank.at("value"), 3.0);
  EXPECT_EQ(tank.at("seq"), 4);
  EXPECT_EQ(fw->stats().delivered, 4U);
}

}  // namespace
}  // namespace fieldgate::testing
