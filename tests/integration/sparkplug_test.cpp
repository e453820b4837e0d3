// Sparkplug B end to end (sparkplug_fixture.hpp): births at connect, seq
// continuity with wrap over 600+ messages, bdSeq in NBIRTH equal to the NDEATH
// the broker sends as the will after SIGKILL and one more after a restart, a
// clean NDEATH at SIGTERM, rebirth on NCMD, a DCMD write reaching the
// simulator (its value read back in DDATA), hostile NCMD/DCMD payloads
// ignored, and the primary host's STATE holding births and data until it is
// online, stored readings then replayed as historical. Every message is
// decoded by the Sparkplug project's own JavaScript library, not by ours.
#include <signal.h>

#include <map>
#include <thread>

#include "tests/integration/sparkplug_fixture.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::seconds;

TEST_F(SparkplugTest, BirthsThenDataWithSeqWrappingAcrossSixHundredMessages) {
  auto run = start(write_config("10ms"));
  ASSERT_TRUE(wait_count(kDdata, 600, seconds(120))) << run->report();
  const Json all = decoded();
  ASSERT_GE(all.size(), 602U);

  const Json& nbirth = all[0];
  ASSERT_EQ(nbirth["topic"], kNbirth);
  EXPECT_FALSE(nbirth["retained"].get<bool>());
  EXPECT_EQ(nbirth["seq"], 0);
  EXPECT_EQ(bd_seq(nbirth), 0);  // a new buffer: the first CONNECT
  bool rebirth = false;
  for (const auto& m : nbirth["metrics"]) {
    if (m.value("name", "") == "Node Control/Rebirth") {
      rebirth = m["datatype"] == "Boolean" && m["value"] == false;
    }
    if (m.value("name", "") == "bdSeq") {
      EXPECT_EQ(m["datatype"], "Int64");
    }
  }
  EXPECT_TRUE(rebirth) << nbirth.dump();

  const Json& dbirth = all[1];
  ASSERT_EQ(dbirth["topic"], kDbirth);
  EXPECT_EQ(dbirth["seq"], 1);
  ASSERT_EQ(dbirth["metrics"].size(), 3U) << dbirth.dump();
  EXPECT_EQ(dbirth["metrics"][0]["name"], "voltage_l1");
  EXPECT_EQ(dbirth["metrics"][0]["alias"], 1);
  EXPECT_EQ(dbirth["metrics"][0]["datatype"], "Double");
  EXPECT_EQ(dbirth["metrics"][0]["properties"]["engUnit"], "V");
  EXPECT_EQ(dbirth["metrics"][1]["name"], "setpoint");
  EXPECT_EQ(dbirth["metrics"][1]["alias"], 2);
  EXPECT_EQ(dbirth["metrics"][1]["properties"]["engUnit"], "°C");
  EXPECT_EQ(dbirth["metrics"][2]["name"], "relay_1");
  EXPECT_EQ(dbirth["metrics"][2]["datatype"], "Boolean");

  // Every later message: seq one more than the one before, 255 → 0; data by
  // alias only, live (not historical), QoS 0 and not retained.
  std::size_t wraps = 0;
  for (std::size_t i = 2; i < all.size(); ++i) {
    ASSERT_EQ(all[i]["topic"], kDdata) << i;
    const int expected = (all[i - 1]["seq"].get<int>() + 1) % 256;
    ASSERT_EQ(all[i]["seq"], expected) << i;
    wraps += expected == 0 ? 1 : 0;
    EXPECT_FALSE(all[i]["retained"].get<bool>());
    for (const auto& m : all[i]["metrics"]) {
      EXPECT_FALSE(m.contains("name")) << m.dump();
      EXPECT_TRUE(m.contains("alias") && m.contains("timestamp")) << m.dump();
    }
  }
  EXPECT_GE(wraps, 2U);
  for (const auto& m : messages_.messages()) EXPECT_EQ(m.qos, 0) << m.topic;  // QoS 0 data
}

TEST_F(SparkplugTest, TheWillCarriesTheBirthsBdSeqAndARestartTheNext) {
  const auto config = write_config();
  auto run = start(config);
  ASSERT_TRUE(wait_count(kDdata, 1, seconds(30))) << run->report();
  ASSERT_EQ(::kill(run->pid(), SIGKILL), 0);
  ASSERT_TRUE(wait_count(kNdeath, 1, seconds(30)));  // the will, sent by the broker
  run->wait_exit(seconds(10));

  auto again = start(config);
  ASSERT_TRUE(wait_count(kNbirth, 2, seconds(30))) << again->report();
  ASSERT_EQ(::kill(again->pid(), SIGTERM), 0);
  EXPECT_EQ(again->wait_exit(seconds(30)), 0) << again->report();
  ASSERT_TRUE(wait_count(kNdeath, 2, seconds(30)));  // the clean one

  const Json all = decoded();
  const auto births = on(all, kNbirth);
  const auto deaths = on(all, kNdeath);
  ASSERT_EQ(births.size(), 2U);
  ASSERT_EQ(deaths.size(), 2U);
  EXPECT_EQ(bd_seq(deaths[0]), bd_seq(births[0]));
  EXPECT_EQ(bd_seq(births[1]), bd_seq(births[0]) + 1);
  EXPECT_EQ(bd_seq(deaths[1]), bd_seq(births[1]));
  EXPECT_FALSE(deaths[0]["retained"].get<bool>());
}

TEST_F(SparkplugTest, NcmdRebirthAndADcmdWriteReadBackInData) {
  auto run = start(write_config());
  ASSERT_TRUE(wait_count(kDdata, 1, seconds(30))) << run->report();
  publisher_.publish(
      kNcmd, encoded({{{"name", "Node Control/Rebirth"}, {"type", "Boolean"}, {"value", true}}}),
      1);
  ASSERT_TRUE(wait_count(kNbirth, 2, seconds(30))) << run->report();
  ASSERT_TRUE(wait_count(kDbirth, 2, seconds(30))) << run->report();

  publisher_.publish(kDcmd, encoded({{{"alias", 2}, {"type", "Double"}, {"value", 21.5}}}), 1);
  const auto setpoint_seen = [&] {
    for (const auto& m : on(decoded(), kDdata)) {
      for (const auto& metric : m["metrics"]) {
        if (metric["alias"] == 2 && metric["value"].is_number() &&
            std::abs(metric["value"].get<double>() - 21.5) < 1e-9) {
          return true;
        }
      }
    }
    return false;
  };
  EXPECT_TRUE(wait_until(setpoint_seen, seconds(30))) << run->report();
  EXPECT_NE(run->stderr_text().find("setpoint"), std::string::npos);  // the audit line
}

TEST_F(SparkplugTest, HostileCommandsAreLoggedAndIgnored) {
  auto run = start(write_config());
  ASSERT_TRUE(wait_count(kDdata, 1, seconds(30))) << run->report();
  publisher_.publish(kNcmd, std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11), 1);
  publisher_.publish(kDcmd, std::string(200000, '\x0a'), 1);  // too large
  Json many = Json::array();
  for (int i = 0; i < 3000; ++i) many.push_back({{"alias", 2}, {"type", "Double"}, {"value", 6.0}});
  publisher_.publish(kDcmd, encoded(many), 1);  // thousands of metrics
  publisher_.publish(kDcmd, encoded({{{"alias", 99}, {"type", "Double"}, {"value", 6.0}}}),
                     1);  // no such alias
  publisher_.publish(kDcmd, encoded({{{"alias", 2}, {"type", "String"}, {"value", "7"}}}),
                     1);  // the wrong datatype
  publisher_.publish(kDcmd, encoded({{{"alias", 1}, {"type", "Double"}, {"value", 7.0}}}),
                     1);  // read-only
  publisher_.publish("spBv1.0/plant/DCMD/line1/nobody",
                     encoded({{{"alias", 2}, {"type", "Double"}, {"value", 7.0}}}), 1);
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string log = run->stderr_text();
        std::size_t n = 0;
        for (std::size_t at = log.find("sparkplug: "); at != std::string::npos;
             at = log.find("sparkplug: ", at + 1)) {
          n += log.compare(at, 40, "sparkplug: NBIRTH") == 0 ? 0 : 1;
        }
        return n >= 7;
      },
      seconds(30)))
      << run->report();
  // Alive, and nothing was written: the setpoint is still what the simulator started with.
  const auto before = count(kDdata);
  ASSERT_TRUE(wait_count(kDdata, before + 3, seconds(30))) << run->report();
  for (const auto& m : on(decoded(), kDdata)) {
    for (const auto& metric : m["metrics"]) {
      if (metric["alias"] == 2 && metric["value"].is_number()) {
        EXPECT_NE(metric["value"].get<double>(), 6.0);
        EXPECT_NE(metric["value"].get<double>(), 7.0);
      }
    }
  }
}

TEST_F(SparkplugTest, NothingWhileThePrimaryHostIsOfflineThenHistoricalReplay) {
  auto run = start(write_config("100ms", "scada"));
  ASSERT_TRUE(wait_until(
      [&] { return run->stderr_text().find("connected to") != std::string::npos; }, seconds(30)))
      << run->report();
  // Readings are taken and kept; nothing is published for a while (a bound).
  EXPECT_FALSE(wait_count(kNbirth, 1, seconds(3)));
  for (const auto& m : messages_.messages()) EXPECT_FALSE(from_node(m.topic)) << m.topic;
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": true, "timestamp": 1})", 1, true);
  ASSERT_TRUE(wait_count(kNbirth, 1, seconds(30))) << run->report();
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& m : on(decoded(), kDdata)) {
          for (const auto& metric : m["metrics"]) {
            if (!metric["is_historical"].get<bool>()) return true;
          }
        }
        return false;
      },
      seconds(30)))
      << run->report();
  const Json all = decoded();
  const auto birth_ts = on(all, kNbirth)[0]["timestamp"].get<std::uint64_t>();
  // The stored readings come first, historical, in order, each once; then live ones.
  std::map<std::int64_t, std::uint64_t> last_ts;  // alias → timestamp
  std::size_t historical = 0;
  bool live_seen = false;
  for (const auto& m : on(all, kDdata)) {
    for (const auto& metric : m["metrics"]) {
      const auto ts = metric["timestamp"].get<std::uint64_t>();
      const bool hist = metric["is_historical"].get<bool>();
      if (hist) {
        EXPECT_FALSE(live_seen) << "historical after live";
        EXPECT_LT(ts, birth_ts);
        ++historical;
      } else {
        live_seen = true;
      }
      const auto alias = metric["alias"].get<std::int64_t>();
      EXPECT_GT(ts, last_ts[alias]) << "alias " << alias << " repeated or out of order";
      last_ts[alias] = ts;
    }
  }
  EXPECT_GE(historical, 3U * 3);  // 3 s of 100 ms polls of 3 points: far more, unless loaded

  // The host goes away: the node is dead to it.
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": false, "timestamp": 2})", 1, true);
  EXPECT_TRUE(wait_count(kNdeath, 1, seconds(30))) << run->report();
  // A STATE that is not JSON: offline, and the log says why.
  publisher_.publish("spBv1.0/STATE/scada", "ONLINE", 1, true);
  EXPECT_TRUE(wait_until(
      [&] {
        return run->stderr_text().find("STATE of the primary host unreadable") != std::string::npos;
      },
      seconds(30)))
      << run->report();
  const auto births = count(kNbirth);
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": true, "timestamp": 3})", 1, true);
  EXPECT_TRUE(wait_count(kNbirth, births + 1, seconds(30))) << run->report();
}

TEST_F(SparkplugTest, AHistoricalReplayKeepsToReplayRate) {
  // 3 s of 100 ms polls of 3 points wait for the host (about 90 readings);
  // replayed at 20 per second, in rounds of at most 2 messages (6 readings),
  // they cannot all be out in less than (n - 20 - 6) / 20 seconds: the
  // bucket's one second of savings and one round's overspend. Slower is fine.
  constexpr double kRate = 20;
  SparkplugSetup setup;
  setup.poll = "100ms";
  setup.primary_host = "scada";
  setup.sparkplug_extra = "replay_rate = 20";
  setup.mqtt_extra = "max_inflight = 2";
  auto run = start(write_config(setup));
  ASSERT_TRUE(wait_until(
      [&] { return run->stderr_text().find("connected to") != std::string::npos; }, seconds(30)))
      << run->report();
  std::this_thread::sleep_for(seconds(3));
  publisher_.publish("spBv1.0/STATE/scada", R"({"online": true, "timestamp": 1})", 1, true);
  const auto live = [&] {
    for (const auto& m : on(decoded(), kDdata)) {
      for (const auto& metric : m["metrics"]) {
        if (!metric["is_historical"].get<bool>()) return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(wait_until(live, seconds(60))) << run->report();

  std::map<std::int64_t, std::uint64_t> last_ts;  // alias → timestamp
  std::size_t historical = 0;
  std::uint64_t first_sent = 0;
  std::uint64_t last_sent = 0;
  for (const auto& m : on(decoded(), kDdata)) {
    for (const auto& metric : m["metrics"]) {
      const auto alias = metric["alias"].get<std::int64_t>();
      const auto ts = metric["timestamp"].get<std::uint64_t>();
      EXPECT_GT(ts, last_ts[alias]) << "alias " << alias << " repeated or out of order";
      last_ts[alias] = ts;
      if (!metric["is_historical"].get<bool>()) continue;
      ++historical;
      const auto sent = m["timestamp"].get<std::uint64_t>();  // when the message was made
      if (first_sent == 0) first_sent = sent;
      last_sent = sent;
    }
  }
  ASSERT_GE(historical, 60U) << "3 s of 100 ms polls of 3 points, unless very loaded";
  const double span_s = static_cast<double>(last_sent - first_sent) / 1000.0;
  EXPECT_GE(span_s, (static_cast<double>(historical) - kRate - 6) / kRate)
      << historical << " historical readings replayed in " << span_s << " s";
}

}  // namespace
}  // namespace fieldgate::testing
