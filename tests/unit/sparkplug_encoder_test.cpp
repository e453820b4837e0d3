// The "sparkplug-b" encoder and the Node it shares with the session hook:
// a device whose DDEATH is in force is born again by its first answer (the
// message is its DBIRTH, carrying that poll's values), never sent DDATA
// ahead of its birth; readings acquired before the death stay DDATA.
#include "bridge/sparkplug_encoder.hpp"

#include <gtest/gtest.h>

#include "core/clock.hpp"

namespace fieldgate::bridge::sparkplug {
namespace {

std::shared_ptr<Node> make_node() {
  config::SparkplugConfig settings;
  settings.group_id = "plant";
  settings.edge_node_id = "line1";
  auto catalog = std::make_shared<Catalog>();
  catalog->devices.push_back({"meter",
                              {{"voltage", 1, DataType::kDouble, "V", false},
                               {"relay", 2, DataType::kBoolean, "", true}}});
  return std::make_shared<Node>(settings, catalog);
}

Reading reading(const std::string& point, Value value, std::int64_t ts,
                Quality q = Quality::kGood) {
  Reading r;
  r.device = "meter";
  r.point = point;
  r.value = std::move(value);
  r.quality = q;
  r.source_ts_ms = ts;
  return r;
}

Payload decoded(const std::string& bytes) {
  const Decoded d = decode(bytes, DecodeLimits{});
  EXPECT_TRUE(d.payload) << d.error;
  return d.payload.value_or(Payload{});
}

TEST(SparkplugEncoderTest, AnAnswerAfterTheDeathIsSentAsTheDevicesBirth) {
  auto node = make_node();
  auto encoder = make_encoder(node);
  node->set_dead("meter", true);
  const auto died = node->dead_since("meter").value();
  const std::vector<Reading> poll{reading("voltage", 231.5, died + 5),
                                  reading("relay", true, died + 5)};
  OutgoingMessage message;
  encoder->encode(poll, message);
  EXPECT_TRUE(message.refusal.empty()) << message.refusal;
  EXPECT_EQ(message.route.topic, "spBv1.0/plant/DBIRTH/line1/meter");
  EXPECT_FALSE(message.route.retain);
  const Payload birth = decoded(message.payload);
  ASSERT_EQ(birth.metrics.size(), 2U);  // every metric of the device, named
  EXPECT_EQ(birth.metrics[0].name, "voltage");
  EXPECT_EQ(birth.metrics[0].alias, 1U);
  EXPECT_EQ(birth.metrics[0].eng_unit, "V");
  EXPECT_EQ(birth.metrics[0].value, MetricValue(231.5));
  EXPECT_EQ(birth.metrics[1].value, MetricValue(true));
  EXPECT_FALSE(node->dead("meter"));

  // Born: the next poll is DDATA, by alias, seq one more.
  OutgoingMessage next;
  encoder->encode(std::vector<Reading>{reading("voltage", 232.0, died + 10)}, next);
  EXPECT_EQ(next.route.topic, "spBv1.0/plant/DDATA/line1/meter");
  const Payload data = decoded(next.payload);
  EXPECT_EQ(data.seq.value(), birth.seq.value() + 1);
  ASSERT_EQ(data.metrics.size(), 1U);
  EXPECT_FALSE(data.metrics[0].name);
  EXPECT_EQ(data.metrics[0].alias, 1U);
}

TEST(SparkplugEncoderTest, ReadingsFromBeforeTheDeathOrFailedOnesDoNotBringABirth) {
  auto node = make_node();
  auto encoder = make_encoder(node);
  node->set_dead("meter", true);
  const auto died = node->dead_since("meter").value();
  OutgoingMessage stored;  // a reading from before the death, replayed from the store
  encoder->encode(std::vector<Reading>{reading("voltage", 230.0, died - 1000)}, stored);
  EXPECT_EQ(stored.route.topic, "spBv1.0/plant/DDATA/line1/meter");
  OutgoingMessage failed;  // the device still does not answer
  encoder->encode(std::vector<Reading>{reading("voltage", {}, died + 5, Quality::kTimeout)},
                  failed);
  EXPECT_EQ(failed.route.topic, "spBv1.0/plant/DDATA/line1/meter");
  EXPECT_TRUE(node->dead("meter"));
}

TEST(SparkplugEncoderTest, NodeMetricsCarryOnlyWhatChanged) {
  const NodeState before{2, 1, 40, 0};
  const NodeState after{2, 2, 40, 3};
  const auto all = node_metrics(after);
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[0].name, "Gateway/Devices");
  EXPECT_EQ(all[0].datatype, static_cast<std::uint32_t>(DataType::kUInt64));
  const auto changed = node_metrics(after, &before);
  ASSERT_EQ(changed.size(), 2U);
  EXPECT_EQ(changed[0].name, "Gateway/Devices Online");
  EXPECT_EQ(changed[0].value, MetricValue(std::uint64_t{2}));
  EXPECT_EQ(changed[1].name, "Gateway/Dropped");
  EXPECT_EQ(changed[1].value, MetricValue(std::uint64_t{3}));
}

}  // namespace
}  // namespace fieldgate::bridge::sparkplug
