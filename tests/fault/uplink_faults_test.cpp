// Fault scenarios on the uplink: the broker SIGKILLed and restarted under
// load, and link faults through a loopback proxy (reset, FIN, a reset in the
// middle of a packet, a blackhole only keepalive notices, a slow link), plus
// a buffer bound reached while connected. The real binary, the real broker,
// checked by seq (seq_checker.hpp): lost == 0 always, dropped == missing
// exactly, per-topic order, and a gateway that stays up.
#include <gtest/gtest.h>

#include <thread>

#include "tests/fault/fault_rig.hpp"
#include "tests/support/mqtt_helpers.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

std::string tail(const std::string& text) {
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

Ms between(std::mt19937_64& rng, int lo_ms, int hi_ms) {
  return Ms(lo_ms + static_cast<int>(rng() % static_cast<std::uint64_t>(hi_ms - lo_ms + 1)));
}

void expect_clean(const CheckReport& r, FaultRig& rig, bool no_duplicates) {
  EXPECT_EQ(r.lost, 0) << r.summary() << "\n" << rig.gateway_log();
  EXPECT_EQ(r.buffered, 0u) << r.summary();
  EXPECT_EQ(r.reordered, 0u) << r.summary();
  EXPECT_EQ(r.unexpected, 0u) << r.summary();
  EXPECT_GT(r.accepted, 500u) << "too little load to prove anything: " << r.summary();
  if (no_duplicates) {
    EXPECT_EQ(r.duplicates, 0u) << r.summary();
  }
  std::printf("[ check ] %s\n", r.summary().c_str());
}

// Spill mode ([store] mode = "spill"): readings wait in memory and reach the
// file only after this long unconfirmed, so outages exercise both places.
const char* const kSpillStore = "mode = \"spill\"\nspill_after = \"300ms\"";

void broker_kills(int qos, const std::string& store_extra = "") {
  const std::string name =
      "broker-kill/qos" + std::to_string(qos) + (store_extra.empty() ? "" : "/spill");
  const auto seed = fault_seed(name);
  std::mt19937_64 rng(seed);
  Tally tally;
  for (int it = 0; it < iterations(1, 4); ++it) {
    RigOptions o;
    o.qos = qos;
    o.persistent_broker = true;  // the subscriber's session outlives the kills
    o.store_extra = store_extra;
    FaultRig rig(o);
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
    const int kills = iterations(2, 4);
    for (int k = 0; k < kills; ++k) {
      std::this_thread::sleep_for(between(rng, 200, 1500));
      rig.kill_broker(between(rng, 100, 2000));
      ASSERT_TRUE(rig.gateway_running()) << rig.gateway_log();
      ASSERT_TRUE(rig.subscriber().wait_connected(20s));
      ASSERT_TRUE(rig.wait_progress(100, 30s)) << "no delivery after broker restart " << k << "\n"
                                               << rig.gateway_log() << "\nbroker:\n"
                                               << tail(rig.broker().log());
    }
    const auto report = rig.finish(rig.tap().confirmed_by_killed_broker());
    // A broker's SIGKILL loses what it had confirmed and not yet delivered or
    // saved: the gateway cannot help that (lost_by_broker); the rest must arrive.
    // In order, except where the subscriber's link shows mosquitto sending a
    // newer reading ahead of older ones it had queued (reordered_by_broker,
    // seq_checker.hpp note 5): after a restart the subscriber has a backlog,
    // and its out-of-turn PUBACK of the QoS 1 status message lets 2.0.11 do
    // that now and then at QoS 2.
    expect_clean(report, rig, false);
    EXPECT_EQ(report.dropped, 0u);
    tally.add(report);
    if (::testing::Test::HasFailure()) break;
  }
  tally.print(name, seed);
}

TEST(UplinkFaults, BrokerKilledRepeatedlyUnderLoadQos1) {
  broker_kills(1);
}
TEST(UplinkFaults, BrokerKilledRepeatedlyUnderLoadQos2) {
  broker_kills(2);
}
TEST(UplinkFaults, BrokerKilledRepeatedlyUnderLoadSpillMode) {
  broker_kills(1, kSpillStore);
}

enum class LinkFault { kReset, kClose, kMidPacketReset, kBlackhole, kSlow };
const char* name_of(LinkFault f) {
  switch (f) {
    case LinkFault::kReset:
      return "reset";
    case LinkFault::kClose:
      return "close";
    case LinkFault::kMidPacketReset:
      return "mid-packet-reset";
    case LinkFault::kBlackhole:
      return "blackhole";
    case LinkFault::kSlow:
      return "slow";
  }
  return "?";
}

void link_faults(int qos, bool clean_session, const std::string& store_extra = "") {
  const std::string name = "link-faults/qos" + std::to_string(qos) +
                           (clean_session ? "" : "/persistent-session") +
                           (store_extra.empty() ? "" : "/spill");
  const auto seed = fault_seed(name);
  std::mt19937_64 rng(seed);
  Tally tally;
  std::uint64_t duplicates_qos2 = 0;
  for (int it = 0; it < iterations(1, 4); ++it) {
    RigOptions o;
    o.qos = qos;
    o.clean_session = clean_session;
    o.store_extra = store_extra;
    FaultRig rig(o);
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
    std::vector<LinkFault> faults{LinkFault::kReset, LinkFault::kClose, LinkFault::kMidPacketReset,
                                  LinkFault::kBlackhole, LinkFault::kSlow};
    std::shuffle(faults.begin(), faults.end(), rng);
    if (soak()) faults.insert(faults.end(), faults.begin(), faults.end());
    for (const auto fault : faults) {
      std::this_thread::sleep_for(between(rng, 100, 800));
      std::printf("[ fault ] %s\n", name_of(fault));
      switch (fault) {
        case LinkFault::kReset:
          rig.link().reset();
          break;
        case LinkFault::kClose:
          rig.link().cut();
          break;
        case LinkFault::kMidPacketReset:
          rig.link().reset_mid_packet();
          break;
        case LinkFault::kBlackhole:
          // keepalive 2 s: Paho gives up on a silent link within about 2 × 2 s.
          rig.link().set_blackhole(true);
          std::this_thread::sleep_for(between(rng, 3000, 6000));
          rig.link().set_blackhole(false);
          break;
        case LinkFault::kSlow:
          rig.link().set_rate(4096 + rng() % 4096);  // a few KB/s
          std::this_thread::sleep_for(between(rng, 1000, 3000));
          rig.link().set_rate(0);
          break;
      }
      ASSERT_TRUE(rig.gateway_running()) << rig.gateway_log();
      ASSERT_TRUE(rig.wait_progress(100, 30s)) << "no delivery after " << name_of(fault) << "\n"
                                               << rig.gateway_log() << "\nbroker:\n"
                                               << tail(rig.broker().log());
    }
    // Exactly once holds within one session: until this process stops, and
    // unless a stuck session had to be restarted clean.
    ASSERT_EQ(rig.stop_gateway(), 0) << rig.gateway_log();
    std::this_thread::sleep_for(500ms);
    const auto in_one_process = count_duplicates(rig.subscriber().messages());
    const bool restarted_clean =
        rig.gateway_log(true).find("starting a clean session") != std::string::npos;
    if (qos == 2 && !clean_session && !restarted_clean) {
      EXPECT_EQ(in_one_process, 0u) << "QoS 2 duplicates within one resumed session";
    }
    const auto report = rig.finish();
    expect_clean(report, rig, false);
    EXPECT_EQ(report.dropped, 0u);
    EXPECT_EQ(report.lost_by_broker, 0u);
    if (qos == 2) duplicates_qos2 += in_one_process;
    tally.add(report);
    if (::testing::Test::HasFailure()) break;
  }
  tally.print(name, seed);
  // Known and listed in docs/RELIABILITY.md: a new MQTT session re-sends what
  // was unconfirmed, so QoS 2 is exactly-once only within one session.
  if (qos == 2) {
    std::printf("[ info ] QoS 2 duplicates while the gateway ran: %llu\n",
                static_cast<unsigned long long>(duplicates_qos2));
  }
}

TEST(UplinkFaults, LinkFaultsQos1) {
  link_faults(1, true);
}
TEST(UplinkFaults, LinkFaultsQos2) {
  link_faults(2, true);
}
// With clean_session = false the broker keeps the session across link faults
// and Paho completes what was in flight under the original packet ids: QoS 2
// is exactly once here. Regression: the forwarder published those messages a
// second time, duplicating them and exceeding mosquitto's QoS 2 quota, after
// which every reconnect was refused ("malformed packet") and delivery stopped.
TEST(UplinkFaults, LinkFaultsQos2PersistentSession) {
  link_faults(2, false);
}
TEST(UplinkFaults, LinkFaultsQos2SpillMode) {
  link_faults(2, true, kSpillStore);
}

// The bound is reached while connected: a slow link lets the buffer fill
// while messages are in flight. drop_oldest must never evict a reading it
// has handed to the broker, so every missing reading is a counted one
// (regression: in-flight rows were evicted and counted though delivered).
void bound_reached_while_connected(const std::string& overflow) {
  const std::string name = "bound-while-connected/" + overflow;
  const auto seed = fault_seed(name);
  std::mt19937_64 rng(seed);
  Tally tally;
  for (int it = 0; it < iterations(1, 6); ++it) {
    RigOptions o;
    o.qos = 1;
    o.store_extra =
        "max_rows = " + std::to_string(200 + rng() % 400) + "\noverflow = \"" + overflow + "\"";
    o.mqtt_extra = "max_inflight = " + std::to_string(50 + rng() % 300);
    FaultRig rig(o);
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(100, 30s)) << rig.gateway_log();
    rig.link().set_rate(8192 + rng() % 16384);  // well below 1200 readings/s
    std::this_thread::sleep_for(between(rng, 2000, 4000));
    rig.link().set_rate(0);
    const auto report = rig.finish();
    EXPECT_GT(report.dropped, 0u) << "the bound was never reached: " << report.summary();
    EXPECT_EQ(report.missing, report.dropped) << report.summary();
    expect_clean(report, rig, false);
    tally.add(report);
    if (::testing::Test::HasFailure()) break;
  }
  tally.print(name, seed);
}

TEST(UplinkFaults, BoundReachedWhileConnectedDropOldest) {
  bound_reached_while_connected("drop_oldest");
}
TEST(UplinkFaults, BoundReachedWhileConnectedDropNewest) {
  bound_reached_while_connected("drop_newest");
}

}  // namespace
}  // namespace fieldgate::testing
