// A flood of bad commands through a real mosquitto while the real `fieldgate
// run` publishes readings from the libmodbus power-meter simulator (issue 14,
// D13): 20,000 invalid commands in a burst once filled Paho's buffer, results
// were dropped unseen, the session was torn down and readings were sent again
// as duplicates. Results and readings must never share fate: the session
// stays up, readings keep flowing without a gap or a duplicate, and every
// command is accounted for as a result published or a result dropped and
// counted (the stats message).
#include <gtest/gtest.h>

#include <signal.h>

#include <fmt/format.h>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include <set>

#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::seconds;
using Json = nlohmann::json;

constexpr int kCommands = 20'000;

/// Publishes `n` commands as fast as the broker takes them (QoS 1, in chunks
/// of a thousand in flight), then waits for the last acknowledgement.
void burst(const std::string& uri, const std::string& topic, int n) {
  mqtt::async_client client(uri, "flood-publisher",
                            mqtt::create_options_builder()
                                .mqtt_version(MQTTVERSION_3_1_1)
                                .max_buffered_messages(2000)
                                .finalize(),
                            static_cast<mqtt::iclient_persistence*>(nullptr));
  client
      .connect(mqtt::connect_options_builder()
                   .mqtt_version(MQTTVERSION_3_1_1)
                   .clean_session(true)
                   .max_inflight(1000)
                   .finalize())
      ->wait_for(seconds(10));
  ASSERT_TRUE(client.is_connected());
  constexpr int kChunk = 1000;
  for (int sent = 0; sent < n; sent += kChunk) {
    std::vector<mqtt::delivery_token_ptr> tokens;
    for (int i = sent; i < std::min(n, sent + kChunk); ++i) {
      tokens.push_back(
          client.publish(topic, fmt::format(R"({{"value": "warm", "id": {}}})", i), 1, false));
    }
    for (auto& token : tokens) ASSERT_TRUE(token->wait_for(seconds(30)));
  }
  client.disconnect()->wait_for(seconds(5));
}

TEST(CommandFloodTest, ResultsNeverBreakTheSessionOrTheReadings) {
  ScratchDir dir;
  SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", 0}));
  Mosquitto broker(dir.path());
  Subscriber readings(broker.uri(), "fieldgate/gw/meter/+", 1);
  Subscriber stats(broker.uri(), "fieldgate/gw/status/stats", 0);
  Subscriber results(broker.uri(), "fieldgate/gw/meter/setpoint/set/result", 1);
  ASSERT_TRUE(readings.wait_connected(seconds(10)));
  ASSERT_TRUE(stats.wait_connected(seconds(10)));
  ASSERT_TRUE(results.wait_connected(seconds(10)));
  const auto config = dir.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "20ms"
[mqtt]
broker = "{}"
status_interval = "1s"
reconnect_min = "100ms"
reconnect_max = "500ms"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "50ms"
[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
[[devices.points]]
name = "setpoint"
kind = "holding"
address = 15
type = "int16"
writable = true
)",
                                                            (dir.path() / "buffer.db").string(),
                                                            broker.uri(), sim.server().port()));
  ChildProcess run({kBinary, "run", "-c", config.string()}, dir.path());
  ASSERT_TRUE(wait_until(
      [&] {
        return run.stderr_text().find("subscribed to 1 command topic(s)") != std::string::npos;
      },
      seconds(20)))
      << run.stderr_text();
  ASSERT_TRUE(readings.wait_for(20, seconds(20))) << run.stderr_text();

  burst(broker.uri(), "fieldgate/gw/meter/setpoint/set", kCommands);

  // Every command is accounted for in the gateway's own counts.
  Json uplink;
  const bool accounted = wait_until(
      [&] {
        const auto messages = stats.messages();
        if (messages.empty()) return false;
        uplink = Json::parse(messages.back().payload).at("uplink");
        return uplink.value("results_published", 0) + uplink.value("results_dropped", 0) >=
               kCommands;
      },
      seconds(60));
  ASSERT_TRUE(accounted) << uplink.dump() << "\n" << run.stderr_text();
  EXPECT_EQ(uplink.at("results_published").get<int>() + uplink.at("results_dropped").get<int>(),
            kCommands)
      << uplink.dump();
  EXPECT_GT(uplink.at("results_published").get<int>(), 0);
  EXPECT_TRUE(uplink.at("connected").get<bool>());
  EXPECT_EQ(uplink.at("reconnects").get<int>(), 0) << run.stderr_text();

  // Readings still flow after the flood.
  const std::size_t after_burst = readings.messages().size();
  ASSERT_TRUE(readings.wait_for(after_burst + 20, seconds(20))) << run.stderr_text();
  ::kill(run.pid(), SIGTERM);
  ASSERT_EQ(run.wait_exit(seconds(30)), 0) << run.stderr_text();

  const std::string log = run.stderr_text();
  EXPECT_EQ(log.find("session with"), std::string::npos) << "the session broke:\n" << log;
  EXPECT_EQ(log.find("cannot publish seq"), std::string::npos) << log;
  if (uplink.at("results_dropped").get<int>() > 0) {
    EXPECT_NE(log.find("command results not published"), std::string::npos)
        << "drops are summarised in the log";
  }
  // Far fewer lines than commands: refusals beyond a few per window are summarised.
  EXPECT_LT(std::count(log.begin(), log.end(), '\n'), 1000) << log.substr(0, 4000);
  EXPECT_NE(log.find("more refused in the last"), std::string::npos);

  // No reading lost in the middle, none sent twice.
  std::vector<std::uint64_t> seqs;
  for (const auto& m : readings.messages()) {
    if (!m.topic.ends_with("/availability")) seqs.push_back(seq_of(m));  // state, not a reading
  }
  const std::set<std::uint64_t> unique(seqs.begin(), seqs.end());
  EXPECT_EQ(unique.size(), seqs.size()) << "duplicates: the readings were sent again";
  ASSERT_FALSE(unique.empty());
  EXPECT_EQ(*unique.rbegin() - *unique.begin() + 1, unique.size()) << "a gap: readings lost";
  // The results that were published reached their subscriber, each answering a command.
  ASSERT_TRUE(results.wait_for(1, seconds(10)));
  EXPECT_EQ(Json::parse(results.messages().front().payload).at("status"), "rejected");
}

}  // namespace
}  // namespace fieldgate::testing
