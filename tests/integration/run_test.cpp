// `fieldgate run` end to end: the real binary polling the simulated meter
// (also the real binary), buffering in SQLite and publishing to a real
// mosquitto, checked by an independent subscriber by seq.
#include <gtest/gtest.h>

#include <signal.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

struct Gateway {
  ScratchDir dir;
  std::unique_ptr<ChildProcess> meter;
  int meter_port = 0;

  Gateway() {
    meter = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "simulate", "modbus-tcp", "--port", "0"}, dir.path());
    if (!meter->wait_for_output("simulating", std::chrono::seconds(10))) {
      throw std::runtime_error("simulator did not start: " + meter->stderr_text());
    }
    const auto out = meter->stdout_text();
    meter_port = std::stoi(out.substr(out.rfind(':') + 1));
  }

  [[nodiscard]] std::string db() const { return (dir.path() / "buffer.db").string(); }

  std::filesystem::path write_config(const std::string& broker_uri,
                                     const std::string& extra_store = "",
                                     const std::string& extra_points = "", int qos = 1,
                                     const std::string& poll_interval = "100ms") const {
    return dir.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
{}
[mqtt]
broker = "{}"
qos = {}
status_interval = "1s"
drain_timeout = "3s"
reconnect_min = "100ms"
reconnect_max = "500ms"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "{}"
[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
unit = "V"
[[devices.points]]
name = "frequency"
kind = "input"
address = 22
type = "float32"
unit = "Hz"
{}
)",
                                                 db(), extra_store, broker_uri, qos, meter_port,
                                                 poll_interval, extra_points));
  }

  std::unique_ptr<ChildProcess> start(const std::filesystem::path& config) const {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "run", "-c", config.string()}, dir.path());
  }
};

/// Seqs per topic, in arrival order, from the subscriber's JSON payloads.
std::map<std::string, std::vector<std::uint64_t>> seqs_by_topic(
    const std::vector<ReceivedMessage>& messages) {
  std::map<std::string, std::vector<std::uint64_t>> out;
  for (const auto& m : messages) {
    // The gateway's status and the devices' availability: state, not readings.
    if (m.topic.find("/status") != std::string::npos || m.topic.ends_with("/availability")) {
      continue;
    }
    out[m.topic].push_back(nlohmann::json::parse(m.payload).at("seq").get<std::uint64_t>());
  }
  return out;
}

/// Every seq from 1 to the highest seen, over all topics: none missing.
void expect_no_gap(const std::map<std::string, std::vector<std::uint64_t>>& by_topic) {
  std::set<std::uint64_t> all;
  for (const auto& [topic, seqs] : by_topic) all.insert(seqs.begin(), seqs.end());
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(all.size(), *all.rbegin()) << "missing seqs between 1 and " << *all.rbegin();
}

/// First arrivals per topic are in acquisition order.
void expect_ordered(const std::map<std::string, std::vector<std::uint64_t>>& by_topic) {
  for (const auto& [topic, seqs] : by_topic) {
    std::set<std::uint64_t> seen;
    std::uint64_t last_first = 0;
    for (auto seq : seqs) {
      if (!seen.insert(seq).second) continue;  // a re-delivery (QoS 1)
      EXPECT_GT(seq, last_first) << topic << ": seq " << seq << " arrived after " << last_first;
      last_first = seq;
    }
  }
}

TEST(RunTest, ReadingsArriveOnTheirTopicsWithJsonPayloads) {
  Gateway gw;
  Mosquitto broker(gw.dir.path());
  Subscriber sub(broker.uri(), "fieldgate/#", 2);
  auto run = gw.start(gw.write_config(broker.uri()));
  ASSERT_TRUE(sub.wait_for(20, std::chrono::seconds(20))) << run->stderr_text();

  bool saw_online = false;
  for (const auto& m : sub.messages()) {
    if (m.topic == "fieldgate/gw/status") {
      saw_online |= m.payload == "online";
      continue;
    }
    if (m.topic == "fieldgate/gw/status/stats") continue;
    if (m.topic == "fieldgate/gw/meter/availability") {
      EXPECT_EQ(m.payload, "online");
      continue;
    }
    ASSERT_TRUE(m.topic == "fieldgate/gw/meter/voltage_l1" ||
                m.topic == "fieldgate/gw/meter/frequency")
        << m.topic;
    const auto j = nlohmann::json::parse(m.payload);
    EXPECT_EQ(j.at("quality"), "good");
    EXPECT_EQ(m.qos, 1);
    if (m.topic.ends_with("voltage_l1")) {
      EXPECT_NEAR(j.at("value").get<double>(), 230.0, 10.0);
      EXPECT_EQ(j.at("unit"), "V");
    }
  }
  EXPECT_TRUE(saw_online);

  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(std::chrono::seconds(15)), 0) << run->stderr_text();
  // A clean stop after the broker confirmed everything leaves an empty buffer.
  const auto stats =
      run_command({kBinary, "queue", "stats", "--json", "--db", gw.db()}, gw.dir.path());
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_EQ(nlohmann::json::parse(stats.out).at("rows").get<int>(), 0) << stats.out;
}

TEST(RunTest, BrokerKilledAndRestartedLosesNothingAndKeepsOrder) {
  Gateway gw;
  BrokerOptions options;
  options.persistent = true;  // the broker keeps the subscriber's queued messages across restarts
  Mosquitto broker(gw.dir.path(), options);
  Subscriber sub(broker.uri(), "fieldgate/gw/meter/#", 1);
  auto run = gw.start(gw.write_config(broker.uri()));
  ASSERT_TRUE(sub.wait_for(10, std::chrono::seconds(20))) << run->stderr_text();

  for (int i = 0; i < 2; ++i) {
    broker.kill();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(1500));  // polling goes on into the buffer
    broker.restart();
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  }
  ::kill(run->pid(), SIGTERM);
  ASSERT_EQ(run->wait_exit(std::chrono::seconds(15)), 0) << run->stderr_text();
  // Every connect is in the log: the two reconnects, a few seconds apart,
  // must not look like one line repeated (the repeat limiter would hold the
  // second back while its "session ended" shows).
  const std::string log = run->stderr_text();
  std::size_t connects = 0;
  for (auto at = log.find("mqtt: connected to"); at != std::string::npos;
       at = log.find("mqtt: connected to", at + 1)) {
    ++connects;
  }
  EXPECT_EQ(connects, 3U) << log;
  EXPECT_NE(log.find("reconnect 2 since start"), std::string::npos) << log;

  const auto stats =
      run_command({kBinary, "queue", "stats", "--json", "--db", gw.db()}, gw.dir.path());
  const auto j = nlohmann::json::parse(stats.out);
  const auto highest = j.at("next_seq").get<std::uint64_t>() - 1;
  // A clean stop sends what is in flight; readings of the last poll, committed
  // at shutdown, stay buffered for the next start (mqtt.drain_timeout in
  // docs/CONFIGURATION.md).
  const auto buffered = j.at("rows").get<std::uint64_t>();
  ASSERT_TRUE(sub.wait_for(highest - buffered, std::chrono::seconds(20)))
      << "expected at least " << highest - buffered << " messages (" << buffered
      << " still buffered), got " << sub.messages().size() << "\n"
      << run->stderr_text() << "\nbroker:\n"
      << broker.log();
  const auto by_topic = seqs_by_topic(sub.messages());
  expect_no_gap(by_topic);
  expect_ordered(by_topic);
}

TEST(RunTest, GatewayKilledAndRestartedLosesNothing) {
  Gateway gw;
  Mosquitto broker(gw.dir.path());
  Subscriber sub(broker.uri(), "fieldgate/gw/meter/#", 1);
  const auto config = gw.write_config(broker.uri(), "", "", 1, "50ms");
  auto run = gw.start(config);
  ASSERT_TRUE(sub.wait_for(10, std::chrono::seconds(20))) << run->stderr_text();
  // What a killed process had reserved beyond what it handed out: the next
  // one starts above it, so these seqs are never used (docs/QUEUE.md, seq).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> skipped;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + 170 * i));
    ::kill(run->pid(), SIGKILL);
    run->wait_exit(std::chrono::seconds(5));
    const auto after_kill = nlohmann::json::parse(
        run_command({kBinary, "queue", "stats", "--json", "--db", gw.db()}, gw.dir.path()).out);
    const auto next = after_kill.at("next_seq").get<std::uint64_t>();
    const auto reserved = after_kill.at("reserved_upto").get<std::uint64_t>();
    ASSERT_GE(reserved, next) << "a killed gateway leaves its reservation: " << after_kill;
    skipped.emplace_back(next, reserved);
    run = gw.start(config);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ::kill(run->pid(), SIGTERM);
  ASSERT_EQ(run->wait_exit(std::chrono::seconds(15)), 0) << run->stderr_text();

  const auto stats =
      run_command({kBinary, "queue", "stats", "--json", "--db", gw.db()}, gw.dir.path());
  const auto highest = nlohmann::json::parse(stats.out).at("next_seq").get<std::uint64_t>() - 1;
  std::uint64_t never_used = 0;
  for (const auto& [first, last] : skipped) never_used += last - first + 1;
  // What the last stop could not send within drain_timeout (a slow machine)
  // stays in the store for the next start: kept, not lost.
  std::set<std::uint64_t> kept;
  {
    const auto left = run_command(
        {kBinary, "queue", "ls", "--json", "--limit", "0", "--db", gw.db()}, gw.dir.path());
    std::istringstream lines(left.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) kept.insert(nlohmann::json::parse(line).at("seq").get<std::uint64_t>());
    }
  }
  ASSERT_TRUE(sub.wait_for(highest - never_used - kept.size(), std::chrono::seconds(20)));
  // A SIGKILL can lose readings that were polled but not yet committed: those
  // were never accepted, and their seqs lie in the skipped ranges. Every seq
  // that was handed out arrives, and none of the skipped ones does.
  const auto by_topic = seqs_by_topic(sub.messages());
  std::set<std::uint64_t> all;
  for (const auto& [topic, seqs] : by_topic) all.insert(seqs.begin(), seqs.end());
  const auto in_skipped = [&](std::uint64_t seq) {
    return std::any_of(skipped.begin(), skipped.end(),
                       [seq](const auto& r) { return seq >= r.first && seq <= r.second; });
  };
  std::vector<std::uint64_t> missing, unexpected;
  for (std::uint64_t seq = 1; seq <= highest; ++seq) {
    if (in_skipped(seq) && all.contains(seq)) unexpected.push_back(seq);
    if (!in_skipped(seq) && !all.contains(seq) && !kept.contains(seq)) missing.push_back(seq);
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " handed out and never delivered, first "
                               << missing.front();
  EXPECT_TRUE(unexpected.empty()) << "a skipped seq was used: " << unexpected.front();
  EXPECT_EQ(std::max(*all.rbegin(), kept.empty() ? 0 : *kept.rbegin()), highest);
  expect_ordered(by_topic);
}

TEST(RunTest, FullBufferWhileBrokerIsDownDropsTheOldestAndCountsThem) {
  Gateway gw;
  // The subscriber's session is made first and kept by a persistent broker,
  // so that it misses nothing the gateway sends the moment the broker is back.
  BrokerOptions options;
  options.persistent = true;
  Mosquitto broker(gw.dir.path(), options);
  Subscriber sub(broker.uri(), "fieldgate/gw/meter/#", 1);
  ASSERT_TRUE(sub.wait_connected(std::chrono::seconds(10)));
  broker.kill();
  auto run = gw.start(gw.write_config(broker.uri(), "max_rows = 20"));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // ~60 readings into a 20-row buffer

  broker.restart();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ::kill(run->pid(), SIGTERM);
  ASSERT_EQ(run->wait_exit(std::chrono::seconds(15)), 0) << run->stderr_text();

  const auto stats =
      run_command({kBinary, "queue", "stats", "--json", "--db", gw.db()}, gw.dir.path());
  const auto j = nlohmann::json::parse(stats.out);
  const auto dropped = j.at("dropped").at("oldest").get<std::uint64_t>();
  const auto highest = j.at("next_seq").get<std::uint64_t>() - 1;
  // Readings of the last poll, committed at shutdown, wait for the next start.
  const auto buffered = j.at("rows").get<std::uint64_t>();
  EXPECT_GT(dropped, 0u) << stats.out;
  ASSERT_TRUE(sub.wait_for(highest - dropped - buffered, std::chrono::seconds(20)));
  // Exactly `dropped` readings never arrive, every other one does, up to those
  // still buffered. (Mostly the oldest; not always exactly 1..dropped: once the
  // broker is back, readings handed to it are passed over by eviction.)
  std::set<std::uint64_t> all;
  for (const auto& [topic, seqs] : seqs_by_topic(sub.messages()))
    all.insert(seqs.begin(), seqs.end());
  EXPECT_EQ(all.size(), highest - dropped - buffered);
  EXPECT_EQ(*all.rbegin(), highest - buffered);
  EXPECT_NE(run->stderr_text().find("dropped"), std::string::npos) << "eviction must be reported";
}

TEST(RunTest, SighupReloadsAndAnInvalidConfigKeepsTheOldOne) {
  Gateway gw;
  Mosquitto broker(gw.dir.path());
  Subscriber sub(broker.uri(), "fieldgate/gw/meter/#", 1);
  const auto config = gw.write_config(broker.uri());
  auto run = gw.start(config);
  ASSERT_TRUE(sub.wait_for(4, std::chrono::seconds(20))) << run->stderr_text();

  // A broken file: the running configuration stays, and the log says why.
  gw.dir.write("gateway.toml", "[[devices]]\nname = 42\n");
  ::kill(run->pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto before = sub.messages().size();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_GT(sub.messages().size(), before) << "polling stopped after a bad reload";
  EXPECT_NE(run->stderr_text().find("keeping the running configuration"), std::string::npos)
      << run->stderr_text();

  // A good file with one more point: it appears on its topic.
  gw.write_config(broker.uri(), "", R"(
[[devices.points]]
name = "current_l1"
kind = "input"
address = 6
type = "float32"
unit = "A"
)");
  ::kill(run->pid(), SIGHUP);
  bool saw_new_point = false;
  for (int i = 0; i < 100 && !saw_new_point; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const auto& m : sub.messages())
      saw_new_point |= m.topic == "fieldgate/gw/meter/current_l1";
  }
  EXPECT_TRUE(saw_new_point) << run->stderr_text();
  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(std::chrono::seconds(15)), 0);
}

TEST(RunTest, RunWithoutMqttSectionIsAConfigError) {
  ScratchDir dir;
  const auto result = run_command(
      {kBinary, "run", "-c", FIELDGATE_SOURCE_DIR "/config/examples/power-meter-tcp.toml"},
      dir.path());
  EXPECT_EQ(result.exit_code, 78) << "EX_CONFIG: the unit must not restart on it";
  EXPECT_NE(result.err.find("needs an [mqtt] table"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace fieldgate::testing
