// End to end: the simulated cardio monitor (the real binary) on a socat pty
// pair, `fieldgate run` on config/examples/cardio-monitor.toml buffering in
// SQLite and publishing to a real mosquitto, and an independent subscriber
// checking the bed's topics, the vital signs, QoS 2 and every seq.
#include <gtest/gtest.h>

#include <signal.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

TEST(SerialEndToEndTest, CardioReadingsReachTheBrokerPerBedAtQos2) {
  ScratchDir dir;
  PtyPair pty(dir.path());
  ChildProcess monitor({kBinary, "simulate", "serial", "--device", pty.a(), "--rate", "5"},
                       dir.path());
  ASSERT_TRUE(monitor.wait_for_output("simulating cardio", std::chrono::seconds(10)))
      << monitor.stderr_text();
  Mosquitto broker(dir.path());
  // Subscribed at QoS 2: what arrives at QoS 2 was published at QoS 2.
  Subscriber sub(broker.uri(), "ward-3/#", 2);
  ASSERT_TRUE(sub.wait_connected(std::chrono::seconds(10)));

  const auto db = (dir.path() / "buffer.db").string();
  ChildProcess run(
      {kBinary, "run", "-c",
       (std::filesystem::path(FIELDGATE_SOURCE_DIR) / "config/examples/cardio-monitor.toml")
           .string()},
      dir.path(), {"MONITOR_TTY=" + pty.b(), "MQTT_BROKER=" + broker.uri(), "FIELDGATE_DB=" + db});

  const std::set<std::string> points{"heart_rate", "spo2", "respiration_rate", "bp_systolic",
                                     "bp_diastolic"};
  const auto seen_all = [&] {
    std::set<std::string> seen;
    for (const auto& m : sub.messages()) {
      if (m.topic.rfind("ward-3/bed-12/", 0) == 0) seen.insert(m.topic.substr(14));
    }
    return seen == points;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!seen_all() && std::chrono::steady_clock::now() < deadline) {
    sub.wait_for(sub.messages().size() + 1, std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(seen_all()) << run.stderr_text() << "\nbroker:\n" << broker.log();
  ::kill(run.pid(), SIGTERM);
  ASSERT_EQ(run.wait_exit(std::chrono::seconds(15)), 0) << run.stderr_text();

  std::map<std::string, std::vector<nlohmann::json>> by_point;
  std::set<std::uint64_t> seqs;
  bool saw_online = false;
  for (const auto& m : sub.messages()) {
    if (m.topic == "ward-3/fieldgate/status") {
      saw_online |= m.payload == "online";
      continue;
    }
    if (m.topic.rfind("ward-3/fieldgate/status", 0) == 0) continue;  // stats
    ASSERT_EQ(m.topic.rfind("ward-3/bed-12/", 0), 0u) << m.topic;
    EXPECT_EQ(m.qos, 2) << m.topic;
    const auto j = nlohmann::json::parse(m.payload);
    EXPECT_TRUE(seqs.insert(j.at("seq").get<std::uint64_t>()).second) << "duplicate " << m.payload;
    by_point[m.topic.substr(14)].push_back(j);
  }
  EXPECT_TRUE(saw_online);
  // The simulator injects noise, bad checksums and dropouts: none may surface
  // as a value; every published value is a good, in-range vital sign.
  const std::map<std::string, std::pair<int, int>> ranges{{"heart_rate", {60, 100}},
                                                          {"spo2", {94, 99}},
                                                          {"respiration_rate", {12, 20}},
                                                          {"bp_systolic", {105, 140}},
                                                          {"bp_diastolic", {65, 90}}};
  for (const auto& [point, readings] : by_point) {
    for (const auto& j : readings) {
      if (j.at("quality") != "good") {
        EXPECT_TRUE(j.at("value").is_null()) << j.dump();
        continue;
      }
      const int v = j.at("value").get<int>();
      EXPECT_GE(v, ranges.at(point).first) << point;
      EXPECT_LE(v, ranges.at(point).second) << point;
    }
  }
  EXPECT_EQ(by_point.at("heart_rate").front().at("unit"), "bpm");

  // Nothing accepted is lost: every seq the store handed out was received or
  // is still buffered. (A clean stop sends what is in flight, not readings of
  // the last poll committed at shutdown: those go out at the next start.)
  const auto stats = run_command({kBinary, "queue", "stats", "--json", "--db", db}, dir.path());
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto next_seq = nlohmann::json::parse(stats.out).at("next_seq").get<std::uint64_t>();
  const auto ls =
      run_command({kBinary, "queue", "ls", "--json", "--limit", "0", "--db", db}, dir.path());
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  std::set<std::uint64_t> buffered;
  std::istringstream lines(ls.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) buffered.insert(nlohmann::json::parse(line).at("seq").get<std::uint64_t>());
  }
  ASSERT_GT(next_seq, 1u);
  // The last confirmed messages may still be on their way to the subscriber.
  std::set<std::uint64_t> accounted;
  const auto all_accounted = [&] {
    accounted = buffered;
    for (const auto& m : sub.messages()) {
      if (m.topic.rfind("ward-3/bed-12/", 0) != 0) continue;
      accounted.insert(nlohmann::json::parse(m.payload).at("seq").get<std::uint64_t>());
    }
    return accounted.size() >= next_seq - 1;
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!all_accounted() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (std::uint64_t seq = 1; seq < next_seq; ++seq) {
    EXPECT_TRUE(accounted.contains(seq)) << "seq " << seq << " neither received nor buffered";
  }
}

}  // namespace
}  // namespace fieldgate::testing
