// Proof of the payload-format seam (docs/ARCHITECTURE.md, "Adding a payload
// format or session hook"): an encoder that lives only in this file,
// registered with one line, renders what a real mosquitto delivers — with no
// file in config/, bridge/, gateway/ or core/ touched for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <memory>
#include <string>
#include <variant>

#include "bridge/forwarder.hpp"
#include "bridge/payload_encoder.hpp"
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

TEST(CustomEncoderTest, ATestOnlyEncoderRendersWhatTheBrokerDelivers) {
  ScratchDir dir;
  Mosquitto broker(dir.path());
  FakeStore store;
  config::Config c = mqtt_config(broker.uri());
  add_device(c, "meter", {"a", "b"});  // payload "json" ([mqtt]'s default)
  add_device(c, "pump", {"speed"}).payload = config::PayloadFormat::kValue;

  bridge::ForwarderParts parts;                                // the built-in formats…
  parts.encoders.add("json", std::make_unique<CsvEncoder>());  // …with "json" rendered by ours

  Subscriber sub(broker.uri(), "fieldgate/gw/#", 2);
  ForwarderRig fw(c, store, std::move(parts));
  fw->start();
  ASSERT_TRUE(wait_until([&] { return fw->stats().connected; }, 10s));
  store.append(make_poll("meter", {"a", "b"}, 1.5));
  store.append(make_poll("pump", {"speed"}, 7.0));
  ASSERT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 20s));
  ASSERT_TRUE(sub.wait_for(3, 10s));

  std::vector<std::pair<std::string, std::string>> received;
  for (const auto& m : sub.messages()) {
    if (m.topic.starts_with("fieldgate/gw/status")) continue;
    received.emplace_back(m.topic, m.payload);
    if (m.topic.ends_with("/csv")) {
      EXPECT_EQ(m.qos, 2);
    }
  }
  EXPECT_THAT(received,
              ::testing::UnorderedElementsAre(
                  std::pair<std::string, std::string>{"fieldgate/gw/meter/a/csv", "1;1;1.5"},
                  std::pair<std::string, std::string>{"fieldgate/gw/meter/b/csv", "2;2;2.5"},
                  // The built-in "value" encoder is untouched.
                  std::pair<std::string, std::string>{"fieldgate/gw/pump/speed", "7"}));
  EXPECT_EQ(fw->stats().delivered, 3U);
}

}  // namespace
}  // namespace fieldgate::testing
