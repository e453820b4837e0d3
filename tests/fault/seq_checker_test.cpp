// The checker's order rule (seq_checker.hpp, design note 5) on hand-made
// links: an arrival out of order is excused only when the subscriber's link
// shows the broker overtaking it; nothing else passes, however close.
#include <gtest/gtest.h>

#include "tests/fault/seq_checker.hpp"

namespace fieldgate::testing {
namespace {

BrokerPublish sent(int connection, std::uint16_t packet_id, const std::string& topic,
                   std::uint64_t seq, bool dup = false) {
  return BrokerPublish{connection, packet_id, 2, dup, topic, seq};
}

std::vector<ReceivedMessage> arrivals(
    const std::vector<std::pair<std::string, std::uint64_t>>& in) {
  std::vector<ReceivedMessage> out;
  for (const auto& [topic, seq] : in) {
    out.push_back(ReceivedMessage{topic, "{\"seq\":" + std::to_string(seq) + "}", 2, false});
  }
  return out;
}

Accepted upto(std::uint64_t last) {
  Accepted a;
  a.last_seq = last;
  return a;
}

TEST(SeqChecker, BrokerOvertakingIsReorderedByTheBroker) {
  // Queued 1, 2, 3, 4 (packet ids 10–13); the broker sent 4 before 3.
  const auto overtakes = broker_overtakes(
      {sent(1, 10, "t", 1), sent(1, 11, "t", 2), sent(1, 13, "t", 4), sent(1, 12, "t", 3)});
  ASSERT_EQ(overtakes, (BrokerOvertakes{{3, {4}}}));
  const auto r =
      check_delivery(arrivals({{"t", 1}, {"t", 2}, {"t", 4}, {"t", 3}}), upto(4), {}, overtakes);
  EXPECT_EQ(r.reordered, 0u) << r.summary();
  EXPECT_EQ(r.reordered_by_broker, 1u) << r.summary();
}

TEST(SeqChecker, GatewayOrderIsNotExcused) {
  // The broker kept its queue order; 4 had been queued before 3, so whoever
  // handed them over (the gateway) sent 4 first.
  const auto overtakes = broker_overtakes(
      {sent(1, 10, "t", 1), sent(1, 11, "t", 2), sent(1, 12, "t", 4), sent(1, 13, "t", 3)});
  EXPECT_TRUE(overtakes.empty());
  const auto r =
      check_delivery(arrivals({{"t", 1}, {"t", 2}, {"t", 4}, {"t", 3}}), upto(4), {}, overtakes);
  EXPECT_EQ(r.reordered, 1u) << r.summary();
  EXPECT_EQ(r.reordered_by_broker, 0u);
  ASSERT_EQ(r.reordered_sample.size(), 1u);
  EXPECT_EQ(r.reordered_sample[0], "t: 3 after 4");
}

TEST(SeqChecker, EveryNewerArrivalMustHaveOvertaken) {
  // 6 overtook 3, but 4 was queued before 3: 3 after 4 is not the broker's doing.
  const auto overtakes =
      broker_overtakes({sent(1, 10, "t", 4), sent(1, 12, "t", 6), sent(1, 11, "t", 3)});
  ASSERT_EQ(overtakes, (BrokerOvertakes{{3, {6}}}));
  const auto r = check_delivery(arrivals({{"t", 4}, {"t", 6}, {"t", 3}}), upto(6), {}, overtakes);
  EXPECT_EQ(r.reordered, 1u) << r.summary();
  EXPECT_EQ(r.reordered_by_broker, 0u);
}

TEST(SeqChecker, OvertakingOnAnotherTopicExcusesNothing) {
  const auto overtakes =
      broker_overtakes({sent(1, 10, "t", 4), sent(1, 12, "u", 6), sent(1, 11, "t", 3)});
  EXPECT_TRUE(overtakes.empty());
}

TEST(SeqChecker, PacketIdsCompareAcrossTheirWrap) {
  // mosquitto goes 65535 → 1.
  EXPECT_TRUE(broker_overtakes({sent(1, 65534, "t", 1), sent(1, 65535, "t", 2), sent(1, 1, "t", 3)})
                  .empty());
  EXPECT_EQ(broker_overtakes({sent(1, 65535, "t", 1), sent(1, 2, "t", 3), sent(1, 1, "t", 2)}),
            (BrokerOvertakes{{2, {3}}}));
}

TEST(SeqChecker, PacketIdsCompareOnlyWithinOneConnection) {
  // After a reconnect (or a broker restart) ids are not comparable.
  EXPECT_TRUE(broker_overtakes({sent(1, 20, "t", 4), sent(2, 11, "t", 3)}).empty());
}

TEST(SeqChecker, ResendsKeepTheirPlace) {
  // A session resumed on connection 2 resends 1 (DUP) after 2 went out: no overtaking.
  EXPECT_TRUE(
      broker_overtakes({sent(2, 10, "t", 1), sent(2, 11, "t", 2), sent(2, 10, "t", 1, true)})
          .empty());
}

TEST(SeqChecker, ConfirmedByAKilledBrokerExcusesNoLateArrival) {
  // Once excused as "restored late"; a restored queue goes out first, in order.
  const auto r = check_delivery(arrivals({{"t", 1}, {"t", 3}, {"t", 2}}), upto(3), {2});
  EXPECT_EQ(r.reordered, 1u) << r.summary();
  EXPECT_EQ(r.reordered_by_broker, 0u);
}

}  // namespace
}  // namespace fieldgate::testing
