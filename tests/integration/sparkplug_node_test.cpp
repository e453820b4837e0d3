// Sparkplug B end to end, the edge node's finer duties (sparkplug_fixture.hpp;
// every message decoded by the Sparkplug project's own JavaScript library):
// the node metrics in NBIRTH and, when they change, in NDATA at a bounded
// rate; a DCMD's read-back value in a DDATA of its own, before the next
// poll; a device back from its DDEATH born again before any of its data;
// the primary host going offline ending the session (NDEATH, then a new
// CONNECT with the next bdSeq).
#include <map>

#include "tests/integration/sparkplug_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::seconds;

// seq: 0 in each NBIRTH, then one more per message (255 → 0); NDEATH has none.
void expect_seq_continuity(const Json& all) {
  std::optional<int> last;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::string topic = all[i]["topic"];
    if (topic.find("/NDEATH/") != std::string::npos) continue;
    const int seq = all[i]["seq"].get<int>();
    if (topic.find("/NBIRTH/") != std::string::npos) {
      EXPECT_EQ(seq, 0) << i;
    } else if (last) {
      EXPECT_EQ(seq, (*last + 1) % 256) << i << " " << topic;
    }
    last = seq;
  }
}

std::optional<std::uint64_t> uint_metric(const Json& message, const std::string& name) {
  for (const auto& m : message["metrics"]) {
    if (m.value("name", "") == name && m["value"].is_number_unsigned()) {
      return m["value"].get<std::uint64_t>();
    }
  }
  return std::nullopt;
}

TEST_F(SparkplugTest, NodeMetricsInTheBirthThenNdataOnlyWhenTheyChange) {
  SparkplugSetup setup;
  setup.poll = "100ms";
  setup.primary_host = "scada";
  setup.status_interval = "1s";
  auto run = start(write_config(setup));
  // Readings pile up in the buffer while the host is away.
  EXPECT_FALSE(wait_count(kNbirth, 1, seconds(3)));
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": true, "timestamp": 1})", 1, true);
  ASSERT_TRUE(wait_count(kNbirth, 1, seconds(30))) << run->report();

  const Json nbirth = on(decoded(), kNbirth)[0];
  for (const char* name :
       {"Gateway/Devices", "Gateway/Devices Online", "Gateway/Queue Depth", "Gateway/Dropped"}) {
    const Json m = metric(nbirth, name);
    ASSERT_TRUE(m.is_object()) << name << " not in " << nbirth.dump();
    EXPECT_EQ(m["datatype"], "UInt64") << name;
  }
  EXPECT_EQ(uint_metric(nbirth, "Gateway/Devices"), 1U);
  EXPECT_EQ(uint_metric(nbirth, "Gateway/Devices Online"), 1U);  // it answered meanwhile
  EXPECT_EQ(uint_metric(nbirth, "Gateway/Dropped"), 0U);
  const auto depth_at_birth = uint_metric(nbirth, "Gateway/Queue Depth").value_or(0);
  EXPECT_GE(depth_at_birth, 3U) << "3 s of 100 ms polls of 3 points waited in the buffer";

  // The replay empties the buffer: an NDATA says so.
  const auto drained = [&] {
    for (const auto& m : on(decoded(), kNdata)) {
      if (const auto depth = uint_metric(m, "Gateway/Queue Depth");
          depth && *depth < depth_at_birth)
        return true;
    }
    return false;
  };
  ASSERT_TRUE(wait_until(drained, seconds(30))) << run->report();
  // Let a few more intervals pass: more NDATA only for a change.
  EXPECT_FALSE(wait_count(kNbirth, 2, seconds(3)));

  const Json all = decoded();
  expect_seq_continuity(all);
  std::map<std::string, Json> known;  // what the host has: the birth's values, then each change
  for (const auto& m : nbirth["metrics"]) known[m.value("name", "")] = m["value"];
  std::optional<std::uint64_t> last_ts;
  for (const auto& ndata : on(all, kNdata)) {
    EXPECT_FALSE(ndata["retained"].get<bool>());
    ASSERT_FALSE(ndata["metrics"].empty());
    for (const auto& m : ndata["metrics"]) {
      ASSERT_TRUE(m.contains("name")) << m.dump();
      EXPECT_NE(known[m["name"]], m["value"]) << "an NDATA repeats " << m.dump();
      known[m["name"]] = m["value"];
    }
    // The bound on the rate: one NDATA per status_interval at most (1 s; the
    // payload timestamps are wall-clock milliseconds, a little jitter allowed).
    const auto ts = ndata["timestamp"].get<std::uint64_t>();
    if (last_ts) {
      EXPECT_GE(ts, *last_ts + 900) << ndata.dump();
    }
    last_ts = ts;
  }
}

TEST_F(SparkplugTest, ADcmdIsAnsweredByADdataOfItsOwnWithTheReadBack) {
  auto run = start(write_config("30s"));  // one poll, then none within the test
  ASSERT_TRUE(wait_count(kDdata, 1, seconds(30))) << run->report();
  publisher_.publish(kDcmd, encoded({{{"alias", 2}, {"type", "Double"}, {"value", 21.5}}}), 1);
  publisher_.publish(kDcmd, encoded({{{"alias", 3}, {"type", "Boolean"}, {"value", true}}}), 1);
  ASSERT_TRUE(wait_count(kDdata, 3, seconds(20))) << run->report();

  const Json all = decoded();
  expect_seq_continuity(all);
  const auto data = on(all, kDdata);
  ASSERT_EQ(data.size(), 3U);  // the poll's, then one per write: no poll in between
  EXPECT_EQ(data[0]["metrics"].size(), 3U);
  std::map<std::int64_t, Json> written;
  for (std::size_t i = 1; i < data.size(); ++i) {
    ASSERT_EQ(data[i]["metrics"].size(), 1U) << data[i].dump();
    const Json& m = data[i]["metrics"][0];
    EXPECT_FALSE(m.contains("name"));  // by alias, as all data
    EXPECT_FALSE(m["is_historical"].get<bool>());
    EXPECT_TRUE(m.contains("timestamp"));
    written[m["alias"].get<std::int64_t>()] = m;
  }
  ASSERT_TRUE(written.contains(2) && written.contains(3));
  EXPECT_EQ(written[2]["datatype"], "Double");
  EXPECT_NEAR(written[2]["value"].get<double>(), 21.5, 1e-9);  // read back from the simulator
  EXPECT_EQ(written[3]["datatype"], "Boolean");
  EXPECT_EQ(written[3]["value"], true);
  EXPECT_NE(run->stderr_text().find("Sparkplug DCMD"), std::string::npos);  // the audit line
}

TEST_F(SparkplugTest, ADeviceBackFromItsDeathIsBornBeforeItsData) {
  TcpProxy link(meter_.server().port());
  SparkplugSetup setup;
  setup.poll = "100ms";
  setup.port = std::to_string(link.port());
  setup.device_extra =
      "response_timeout = \"200ms\"\nretries = 0\nbackoff_max = \"300ms\"\n"
      "offline_after = 2";
  auto run = start(write_config(setup));
  ASSERT_TRUE(wait_count(kDdata, 3, seconds(30))) << run->report();
  link.set_blackhole(true);
  ASSERT_TRUE(wait_count(kDdeath, 1, seconds(30))) << run->report();
  link.set_blackhole(false);
  ASSERT_TRUE(wait_count(kDbirth, 2, seconds(30))) << run->report();
  const auto births = count(kDdata);
  ASSERT_TRUE(wait_count(kDdata, births + 3, seconds(30))) << run->report();

  const Json all = decoded();
  expect_seq_continuity(all);
  // After the DDEATH: no DDATA of the device until its DBIRTH (the failed
  // polls in between are held back and counted); values after it.
  bool dead = false;
  bool reborn = false;
  bool value_after = false;
  for (const auto& m : all) {
    if (m["topic"] == kDdeath) dead = true;
    if (m["topic"] == kDbirth && dead) {
      reborn = true;
      dead = false;
      ASSERT_EQ(m["metrics"].size(), 3U);
      EXPECT_EQ(m["metrics"][0]["name"], "voltage_l1");
      EXPECT_EQ(m["metrics"][0]["alias"], 1);
    }
    if (m["topic"] != kDdata) continue;
    EXPECT_FALSE(dead) << "DDATA between DDEATH and DBIRTH: " << m.dump();
    for (const auto& metric : m["metrics"]) {
      if (reborn && metric["value"].is_number()) value_after = true;
    }
  }
  EXPECT_TRUE(reborn);
  EXPECT_TRUE(value_after);
}

TEST_F(SparkplugTest, ThePrimaryHostGoingOfflineEndsTheSession) {
  auto run = start(write_config("100ms", "scada"));
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": true, "timestamp": 1})", 1, true);
  ASSERT_TRUE(wait_count(kDdata, 1, seconds(30))) << run->report();
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": false, "timestamp": 2})", 1, true);
  ASSERT_TRUE(wait_count(kNdeath, 1, seconds(30))) << run->report();
  // Disconnected and connected again (the log says it; the proof is the
  // next NBIRTH's bdSeq below): a new session, which waits for the host.
  ASSERT_TRUE(wait_until(
      [&] { return run->stderr_text().find("primary host went offline") != std::string::npos; },
      seconds(30)))
      << run->report();
  const auto data_while_away = count(kDdata);
  EXPECT_FALSE(wait_count(kNbirth, 2, seconds(2)));
  EXPECT_EQ(count(kDdata), data_while_away);
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": true, "timestamp": 3})", 1, true);
  ASSERT_TRUE(wait_count(kNbirth, 2, seconds(30))) << run->report();
  ASSERT_TRUE(wait_count(kDdata, data_while_away + 1, seconds(30))) << run->report();

  const Json all = decoded();
  const auto births = on(all, kNbirth);
  const auto deaths = on(all, kNdeath);
  ASSERT_EQ(births.size(), 2U);
  ASSERT_GE(deaths.size(), 1U);
  EXPECT_EQ(bd_seq(deaths[0]), bd_seq(births[0]));
  EXPECT_EQ(bd_seq(births[1]), bd_seq(births[0]) + 1);  // a new CONNECT, the next bdSeq
  expect_seq_continuity(all);
}

}  // namespace
}  // namespace fieldgate::testing
