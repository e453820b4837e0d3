// The forwarder's pump and window over the MQTT client seam
// (bridge/mqtt_client.hpp), with a fake client that records what it is
// handed and reports the completions a test chooses: the seam carries
// everything the store's promise needs — order, the window's limit, delete
// only on a delivery, a message the client refuses dead-lettered, a broken
// session reported — without a broker.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bridge/forwarder_pump.hpp"
#include "bridge/forwarder_window.hpp"
#include "bridge/mqtt_client.hpp"
#include "bridge/topics.hpp"
#include "tests/support/fake_mqtt_client.hpp"
#include "tests/support/fake_store.hpp"

namespace fieldgate::bridge::detail {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using FakeMqttClient = testing::FakeMqttClient;

// Collects completions as the forwarder's sink does, for Window::apply().
class OutcomeSink final : public CompletionSink {
 public:
  void on_published(CompletionTag tag, const Delivery& delivery) noexcept override {
    if (delivery.delivered) {
      outcomes.confirmed.push_back(tag);
    } else {
      outcomes.failed.emplace_back(tag, delivery.error);
    }
  }
  Outcomes outcomes;
};

Batch readings(int n) {
  Batch batch;
  for (int i = 0; i < n; ++i) {
    Reading r;
    r.device = "meter";
    r.point = "p" + std::to_string(i);
    r.value = static_cast<double>(i);
    batch.push_back(r);
  }
  return batch;
}

struct Rig {
  explicit Rig(int window) : win(store, stats, static_cast<std::size_t>(window)) {
    mqtt.max_inflight = window;
    remake_pump();
  }
  // A pump for the settings in `mqtt` now.
  void remake_pump() {
    config::Config c;
    c.gateway.name = "gw";
    c.mqtt = mqtt;
    pump = std::make_unique<Pump>(mqtt, store, TopicMap(c), make_default_encoders(), win, stats);
  }
  // Reports every message handed over so far as delivered, and applies it.
  std::string deliver_all() {
    for (const auto& p : client.published) {
      if (p.sink != nullptr) p.sink->on_published(p.tag, Delivery{true, 0, {}});
    }
    std::vector<std::uint64_t> earlier;
    auto broken = win.apply(std::exchange(sink.outcomes, {}), earlier);
    client.published.clear();
    return broken;
  }

  config::MqttConfig mqtt;
  testing::FakeStore store;
  StatsBox stats;
  Window win;
  std::unique_ptr<Pump> pump;
  FakeMqttClient client;
  OutcomeSink sink;
};

TEST(MqttClientSeam, ReadingsGoOutInOrderAndLeaveTheStoreOnlyWhenDelivered) {
  Rig rig(100);
  rig.store.append(readings(5));
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  ASSERT_EQ(rig.client.published.size(), 5u);
  std::vector<std::string> topics;
  for (const auto& p : rig.client.published) {
    topics.push_back(p.message.topic);
    EXPECT_EQ(p.sink, &rig.sink);
  }
  EXPECT_THAT(topics,
              ElementsAre("fieldgate/gw/meter/p0", "fieldgate/gw/meter/p1", "fieldgate/gw/meter/p2",
                          "fieldgate/gw/meter/p3", "fieldgate/gw/meter/p4"));
  EXPECT_EQ(rig.win.size(), 5u);
  EXPECT_EQ(rig.store.stats().rows, 5u);  // handed over is not delivered

  // A failed delivery acks nothing and breaks the session.
  const auto& first = rig.client.published.front();
  first.sink->on_published(first.tag, Delivery{false, 0, "connection lost (-3)"});
  std::vector<std::uint64_t> earlier;
  EXPECT_THAT(rig.win.apply(std::exchange(rig.sink.outcomes, {}), earlier),
              HasSubstr("connection lost"));
  EXPECT_EQ(rig.store.stats().rows, 5u);

  EXPECT_EQ(rig.deliver_all(), "");
  EXPECT_EQ(rig.store.stats().rows, 0u);
  EXPECT_TRUE(rig.win.empty());
}

TEST(MqttClientSeam, TheWindowBoundsWhatTheClientHolds) {
  Rig rig(4);
  rig.store.append(readings(10));
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  EXPECT_EQ(rig.client.published.size(), 4u);
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");  // full: nothing more
  EXPECT_EQ(rig.client.published.size(), 4u);
  ASSERT_EQ(rig.deliver_all(), "");
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  EXPECT_EQ(rig.client.published.size(), 4u);
  EXPECT_EQ(rig.client.published.front().message.topic, "fieldgate/gw/meter/p4");
  EXPECT_EQ(rig.store.stats().rows, 6u);
}

TEST(MqttClientSeam, AMessageTheClientRefusesIsDeadLetteredAndTheRestGoOut) {
  Rig rig(100);
  rig.store.append(readings(1));
  rig.client.next_status = {MqttStatus::Kind::kMessageRefused, "bad UTF-8"};
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  ASSERT_EQ(rig.store.dead_letters().size(), 1u);
  EXPECT_THAT(rig.store.dead_letters().at(0).reason,
              HasSubstr("the MQTT client refused it: bad UTF-8"));
  EXPECT_TRUE(rig.win.empty());

  rig.client.next_status = {};
  rig.store.append(readings(1));
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  EXPECT_EQ(rig.client.published.size(), 1u);
}

TEST(MqttClientSeam, ASessionErrorEndsTheSessionAndKeepsTheReadings) {
  Rig rig(100);
  rig.store.append(readings(3));
  rig.client.next_status = {MqttStatus::Kind::kSessionBroken, "not connected"};
  EXPECT_THAT(rig.pump->fill(rig.client, rig.sink), HasSubstr("not connected"));
  EXPECT_TRUE(rig.store.dead_letters().empty());
  EXPECT_EQ(rig.store.stats().rows, 3u);
  EXPECT_TRUE(rig.win.empty());
}

// The forwarder sleeps until this many confirmations are in: a refill's
// worth while there is more to send, else the whole window (acks only; the
// store deletes at its next commit), never one wake-up per confirmation.
TEST(MqttClientSeam, TheForwarderWakesForARefillOrTheWholeWindow) {
  Rig rig(100);
  rig.store.append(readings(130));
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  ASSERT_EQ(rig.win.size(), 100u);
  EXPECT_EQ(rig.win.confirmations_worth_waking(), 50u);  // then the pump can refill

  // Half confirmed: the pump sends the 30 left, and nothing waits after them.
  for (std::size_t i = 0; i < 50; ++i) {
    const auto& p = rig.client.published[i];
    p.sink->on_published(p.tag, Delivery{true, 0, {}});
  }
  std::vector<std::uint64_t> earlier;
  ASSERT_EQ(rig.win.apply(std::exchange(rig.sink.outcomes, {}), earlier), "");
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  ASSERT_EQ(rig.win.size(), 80u);
  EXPECT_EQ(rig.win.confirmations_worth_waking(), 30u);
  rig.deliver_all();
  rig.store.append(readings(7));
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  EXPECT_EQ(rig.win.confirmations_worth_waking(), 7u);  // all of them, not the first
  EXPECT_EQ(rig.deliver_all(), "");
  EXPECT_EQ(rig.store.stats().rows, 0u);
  EXPECT_EQ(rig.win.confirmations_worth_waking(), 1u);  // empty: any event
}

// QoS 2's quota (max_inflight_qos2) refills one message at a time.
TEST(MqttClientSeam, AQos2WindowWakesForEachConfirmation) {
  Rig rig(100);
  rig.mqtt.qos = 2;
  rig.mqtt.max_inflight_qos2 = 20;
  rig.remake_pump();
  rig.store.append(readings(30));
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  ASSERT_EQ(rig.win.size(), 20u);
  EXPECT_EQ(rig.win.qos2(), 20u);
  EXPECT_EQ(rig.win.confirmations_worth_waking(), 1u);
}

// For a client that prefers a small window, the sizer's (WindowSizer, at its
// floor of 100 before any round trip is known) bounds the messages at QoS 1
// and 2; QoS 0 messages only count against max_inflight.
TEST(MqttClientSeam, TheSizersWindowBoundsQos1AndQos0OnlyMaxInflight) {
  Rig rig(1000);
  ASSERT_EQ(rig.win.limit(), 1000u);  // a client that does not prefer a small window
  rig.win.size_by_link(true);
  ASSERT_EQ(rig.win.limit(), WindowSizer::kFloor);
  rig.store.append(readings(300));
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  EXPECT_EQ(rig.win.size(), WindowSizer::kFloor);
  EXPECT_EQ(rig.win.acked(), WindowSizer::kFloor);
  EXPECT_EQ(rig.win.confirmations_worth_waking(), WindowSizer::kFloor / 2);
  EXPECT_EQ(rig.deliver_all(), "");

  rig.mqtt.qos = 0;
  rig.remake_pump();
  ASSERT_EQ(rig.pump->fill(rig.client, rig.sink), "");
  EXPECT_EQ(rig.win.size(), 200u);  // all that was left, past the sizer's window
  EXPECT_EQ(rig.win.acked(), 0u);
  EXPECT_EQ(rig.deliver_all(), "");
  EXPECT_EQ(rig.store.stats().rows, 0u);
}

}  // namespace
}  // namespace fieldgate::bridge::detail
