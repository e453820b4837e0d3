// How peeked readings become messages (device-json grouping, the window's
// room, holding back a poll cut by the peek) and the reconnect back-off.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <vector>

#include "bridge/mqtt_session.hpp"
#include "bridge/outgoing.hpp"
#include "bridge/payload_formats.hpp"

namespace fieldgate::bridge::detail {
namespace {

using std::chrono::milliseconds;

config::Config two_devices() {
  config::Config c;
  c.gateway.name = "gw";
  config::DeviceConfig meter;
  meter.name = "meter";
  c.devices.push_back(meter);
  config::DeviceConfig panel;
  panel.name = "panel";
  panel.payload = config::PayloadFormat{"device-json", true};
  c.devices.push_back(panel);
  return c;
}

std::vector<Reading> rows(std::initializer_list<std::pair<const char*, const char*>> names) {
  std::vector<Reading> out;
  std::uint64_t seq = 100;
  for (const auto& [device, point] : names) {
    Reading r;
    r.device = device;
    r.point = point;
    r.value = static_cast<double>(seq);
    r.seq = seq++;
    out.push_back(r);
  }
  return out;
}

struct Span {
  std::size_t first;
  std::size_t count;
  bool operator==(const Span&) const = default;
};

std::vector<Span> spans(const std::vector<OutgoingMessage>& messages) {
  std::vector<Span> out;
  for (const auto& m : messages) out.push_back({m.first, m.count});
  return out;
}

TEST(PlanMessages, OneMessagePerReadingForJson) {
  const TopicMap topics(two_devices());
  auto encoders = make_default_encoders();
  const auto r = rows({{"meter", "a"}, {"meter", "b"}, {"meter", "a"}});
  const auto plan = plan_messages(r, topics, encoders, 10, false);
  EXPECT_EQ(spans(plan), (std::vector<Span>{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_EQ(plan[1].route.topic, "fieldgate/gw/meter/b");
  EXPECT_EQ(nlohmann::json::parse(plan[2].payload).at("seq"), 102);
}

TEST(PlanMessages, NoMoreThanTheWindowHasRoomFor) {
  const TopicMap topics(two_devices());
  auto encoders = make_default_encoders();
  const auto r = rows({{"meter", "a"}, {"meter", "b"}, {"meter", "c"}});
  EXPECT_EQ(plan_messages(r, topics, encoders, 2, false).size(), 2U);
}

TEST(PlanMessages, DeviceJsonGroupsAPollAndSplitsWhereAPointRepeats) {
  const TopicMap topics(two_devices());
  auto encoders = make_default_encoders();
  const auto r = rows({{"panel", "a"},
                       {"panel", "b"},
                       {"panel", "c"},
                       {"panel", "a"},
                       {"panel", "b"},
                       {"meter", "x"},
                       {"panel", "a"}});
  const auto plan = plan_messages(r, topics, encoders, 10, false);
  EXPECT_EQ(spans(plan), (std::vector<Span>{{0, 3}, {3, 2}, {5, 1}, {6, 1}}));
  EXPECT_EQ(plan[0].route.topic, "fieldgate/gw/panel");
  const auto j = nlohmann::json::parse(plan[0].payload);
  EXPECT_EQ(j.at("seq_first"), 100);
  EXPECT_EQ(j.at("seq_last"), 102);
  EXPECT_EQ(j.at("points").size(), 3U);
}

TEST(PlanMessages, APollCutByAFullPeekWaitsForTheNextPeek) {
  const TopicMap topics(two_devices());
  auto encoders = make_default_encoders();
  const auto r = rows({{"meter", "x"}, {"panel", "a"}, {"panel", "b"}});
  EXPECT_EQ(spans(plan_messages(r, topics, encoders, 10, true)), (std::vector<Span>{{0, 1}}));
  EXPECT_EQ(spans(plan_messages(r, topics, encoders, 10, false)),
            (std::vector<Span>{{0, 1}, {1, 2}}));
  // Held back only behind other messages: a poll longer than a peek still goes.
  const auto only = rows({{"panel", "a"}, {"panel", "b"}});
  EXPECT_EQ(spans(plan_messages(only, topics, encoders, 10, true)), (std::vector<Span>{{0, 2}}));
}

TEST(PlanMessages, AFormatWithoutAnEncoderIsRefusedReadingByReading) {
  const TopicMap topics(two_devices());
  EncoderRegistry encoders;  // "json" only: the panel's device-json has none
  encoders.add("json", make_json_encoder());
  const auto r = rows({{"meter", "x"}, {"panel", "a"}, {"panel", "b"}});
  const auto plan = plan_messages(r, topics, encoders, 10, false);
  ASSERT_EQ(spans(plan), (std::vector<Span>{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_EQ(refusal_reason(plan[0], 1024), "");
  EXPECT_EQ(refusal_reason(plan[1], 1024), "no encoder for payload format \"device-json\"");
}

TEST(ReconnectDelay, DoublesFromMinToMaxWithJitter) {
  config::MqttConfig m;
  m.reconnect_min = milliseconds(1000);
  m.reconnect_max = milliseconds(60000);
  EXPECT_EQ(reconnect_delay(m, 1, 0.5), milliseconds(1000));
  EXPECT_EQ(reconnect_delay(m, 2, 0.5), milliseconds(2000));
  EXPECT_EQ(reconnect_delay(m, 3, 0.5), milliseconds(4000));
  EXPECT_EQ(reconnect_delay(m, 7, 0.5), milliseconds(60000));
  EXPECT_EQ(reconnect_delay(m, 1000, 0.5), milliseconds(60000));
  EXPECT_EQ(reconnect_delay(m, 3, 0.0), milliseconds(3000));    // -25 %
  EXPECT_EQ(reconnect_delay(m, 3, 0.99), milliseconds(4980));   // almost +25 %
  EXPECT_EQ(reconnect_delay(m, 9, 0.99), milliseconds(60000));  // never above the max
}

TEST(ForwarderPlanTest, MessagesNoBrokerTakesAreRecognisedBeforeTheyAreSent) {
  auto message = [](std::string topic, std::size_t payload) {
    OutgoingMessage m;
    m.route.topic = std::move(topic);
    m.payload.assign(payload, 'x');
    return m;
  };
  EXPECT_EQ(refusal_reason(message("fieldgate/gw/meter/v", 100), 1024), "");
  EXPECT_EQ(refusal_reason(message(std::string(kMaxTopicBytes, 'a'), 10), 1024), "")
      << "exactly the limit is fine";
  EXPECT_EQ(refusal_reason(message(std::string(70'000, 'a'), 10), 1024),
            "the topic is 70000 bytes long; MQTT allows at most 65535");
  EXPECT_EQ(refusal_reason(message("gw/m\xE9ter/v", 10), 1024), "the topic is not valid UTF-8");
  EXPECT_EQ(refusal_reason(message(std::string("gw/a\0b", 6), 10), 1024),
            "the topic holds a NUL character");
  EXPECT_EQ(refusal_reason(message("gw/+/v", 10), 1024), "the topic holds a wildcard ('+' or '#')");
  EXPECT_EQ(refusal_reason(message("", 10), 1024), "the topic is empty");
  EXPECT_EQ(refusal_reason(message("gw/v", 1025), 1024),
            "the payload is 1025 bytes, more than [mqtt] max_payload (1024 bytes)");
  EXPECT_EQ(describe_topic(std::string(70'000, 'a')).size(),
            100u + std::string("… (70000 bytes)").size());
  EXPECT_EQ(describe_topic("gw/m\xE9ter"), "gw/m\xEF\xBF\xBDter");
}

}  // namespace
}  // namespace fieldgate::bridge::detail
