// Commands from MQTT to a Modbus device, end to end: the real `fieldgate run`
// binary, a real mosquitto, the libmodbus power-meter simulator in this
// process (so the test can count every request it answered), commands sent
// and results received by independent Paho clients, and the registers read
// afterwards by another Modbus client.
#include <gtest/gtest.h>

#include <signal.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Json = nlohmann::json;

const std::string kSetpointSet = "fieldgate/gw/meter/setpoint/set";
const std::string kRelaySet = "fieldgate/gw/meter/relay_1/set";
const std::string kCtRatioSet = "fieldgate/gw/meter/ct_ratio/set";
const std::string kLabelSet = "fieldgate/gw/meter/label/set";

// Polled once at start ("1h"), so afterwards only writes reach the simulator.
std::string points(bool relay_writable) {
  return fmt::format(R"(
[[devices.points]]
name = "setpoint"
kind = "holding"
address = 15
type = "int16"
scale = 0.1
unit = "°C"
writable = true
min = 5
max = 30
[[devices.points]]
name = "ct_ratio"
kind = "holding"
address = 12
[[devices.points]]
name = "relay_1"
kind = "coil"
address = 0
writable = {}
[[devices.points]]
name = "label"
kind = "holding"
address = 16
type = "string"
count = 4
writable = true
)",
                     relay_writable);
}

class WriteMqttTest : public ::testing::Test {
 protected:
  WriteMqttTest()
      : sim_(sim::ModbusSimServer::tcp({"127.0.0.1", 0})),
        broker_(dir_.path()),
        results_(broker_.uri(), "fieldgate/gw/meter/+/set/result", 1),
        publisher_(broker_.uri()) {}

  std::filesystem::path write_config(bool relay_writable = true,
                                     const std::string& protocol = "3.1.1",
                                     const std::string& command_max_size = "64KiB") {
    return dir_.write("gateway.toml",
                      fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
[mqtt]
broker = "{}"
protocol = "{}"
status_interval = "1h"
reconnect_min = "100ms"
reconnect_max = "500ms"
command_max_age = "30s"
command_max_size = "{}"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "1h"
{}
)",
                                  (dir_.path() / "buffer.db").string(), broker_.uri(), protocol,
                                  command_max_size, sim_.server().port(), points(relay_writable)));
  }

  std::unique_ptr<ChildProcess> start(const std::filesystem::path& config) {
    auto run = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "run", "-c", config.string()}, dir_.path());
    EXPECT_TRUE(results_.wait_connected(seconds(10)));
    return run;
  }

  // Waits for `needle` in the gateway's log (stderr).
  static bool wait_log(const ChildProcess& run, const std::string& needle, std::size_t times = 1) {
    return wait_until(
        [&] {
          const std::string log = run.stderr_text();
          std::size_t n = 0;
          for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
            ++n;
          return n >= times;
        },
        seconds(20));
  }

  // Waits until the simulator's count stops at `n` requests.
  bool requests_reach(std::uint64_t n) {
    return wait_until([&] { return sim_.server().requests_served() >= n; }, seconds(20));
  }

  // Sends a command and returns its result (the next one to arrive).
  Json command(const std::string& topic, const std::string& payload) {
    const std::size_t before = results_.messages().size();
    publisher_.publish(topic, payload, 1);
    if (!results_.wait_for(before + 1, seconds(20))) return Json();
    return Json::parse(results_.messages().at(before).payload);
  }

  // Reads the points over a connection of its own, as another master would.
  std::map<std::string, Reading> read_independently() {
    InlineGateway reader(fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
{})",
                                     sim_.server().port(), points(true)));
    return reader.read_all();
  }

  ScratchDir dir_;
  SimThread sim_;
  Mosquitto broker_;
  Subscriber results_;
  Publisher publisher_;
};

TEST_F(WriteMqttTest, WritesReachTheDeviceAndBadCommandsCauseNoBusTraffic) {
  auto run = start(write_config());
  ASSERT_TRUE(wait_log(*run, "subscribed to 3 command topic(s)")) << run->stderr_text();
  ASSERT_TRUE(requests_reach(2)) << run->stderr_text();  // the first poll: holding + coil
  std::uint64_t requests = sim_.server().requests_served();
  EXPECT_EQ(requests, 2u);  // setpoint, ct_ratio and label in one request

  // A good write: one write and one read-back on the bus, the read-back published.
  Json r = command(kSetpointSet, R"({"value": 21.5, "id": "w1"})");
  ASSERT_FALSE(r.is_null()) << run->stderr_text();
  EXPECT_EQ(r.at("status"), "ok") << r.dump();
  EXPECT_EQ(r.at("id"), "w1");
  EXPECT_EQ(r.at("device"), "meter");
  EXPECT_EQ(r.at("point"), "setpoint");
  EXPECT_DOUBLE_EQ(r.at("value").get<double>(), 21.5);
  EXPECT_NEAR(r.at("readback").get<double>(), 21.5, 1e-9);
  EXPECT_EQ(sim_.server().requests_served(), requests + 2);
  requests += 2;

  // Refused before any bus traffic: out of range, wrong type, no value, expired.
  r = command(kSetpointSet, R"({"value": 99, "id": "w2"})");
  EXPECT_EQ(r.at("status"), "rejected") << r.dump();
  EXPECT_EQ(r.at("id"), "w2");
  EXPECT_EQ(r.at("error"), "out of range: 99 is above max 30");
  EXPECT_FALSE(r.contains("readback"));
  r = command(kSetpointSet, "warm");
  EXPECT_EQ(r.at("status"), "rejected") << r.dump();
  EXPECT_EQ(r.at("error"), "expected a number, got \"warm\"");
  EXPECT_TRUE(r.at("id").is_null());
  r = command(kSetpointSet, R"({"id": "w3"})");
  EXPECT_EQ(r.at("status"), "rejected") << r.dump();
  const auto an_hour_ago =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count() -
      3600 * 1000;
  r = command(kSetpointSet, fmt::format(R"({{"value": 20, "id": "w4", "ts": {}}})", an_hour_ago));
  EXPECT_EQ(r.at("status"), "expired") << r.dump();
  EXPECT_EQ(r.at("id"), "w4");
  EXPECT_EQ(sim_.server().requests_served(), requests) << "a refused command reached the bus";

  // Not writable: nothing subscribes to its command topic, nothing happens.
  publisher_.publish(kCtRatioSet, "7", 1);
  r = command(kRelaySet, R"({"value": true, "id": "w5"})");
  EXPECT_EQ(r.at("status"), "ok") << r.dump();
  EXPECT_EQ(r.at("readback"), true);
  EXPECT_EQ(sim_.server().requests_served(), requests + 2);
  for (const auto& m : results_.messages()) EXPECT_EQ(m.topic.find("ct_ratio"), std::string::npos);
  EXPECT_NE(run->stderr_text().find("write meter/setpoint = 99 (topic " + kSetpointSet +
                                    ", id \"w2\"): rejected: out of range"),
            std::string::npos)
      << "every command is logged with what, where and the outcome";

  // Another master sees what was written, and nothing else changed.
  const auto after = read_independently();
  EXPECT_NEAR(value_of<double>(after, "meter/setpoint"), 21.5, 1e-9);
  EXPECT_EQ(value_of<std::int64_t>(after, "meter/ct_ratio"), 100);
  EXPECT_TRUE(value_of<bool>(after, "meter/relay_1"));

  // Results are QoS 1 (command_qos) and never retained.
  for (const auto& m : results_.messages()) {
    EXPECT_EQ(m.qos, 1);
    EXPECT_FALSE(m.retained);
  }
  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(seconds(15)), 0) << run->stderr_text();
}

TEST_F(WriteMqttTest, ARetainedCommandIsNotExecutedAgainAfterARestart) {
  const auto config = write_config();
  auto run = start(config);
  ASSERT_TRUE(wait_log(*run, "subscribed to 3 command topic(s)")) << run->stderr_text();
  ASSERT_TRUE(requests_reach(2));
  // Sent live, a retained command is a fresh one: executed.
  const std::size_t before = results_.messages().size();
  publisher_.publish(kSetpointSet, R"({"value": 12, "id": "r1"})", 1, true);
  ASSERT_TRUE(results_.wait_for(before + 1, seconds(20))) << run->stderr_text();
  EXPECT_EQ(Json::parse(results_.messages().back().payload).at("status"), "ok");
  ::kill(run->pid(), SIGTERM);
  ASSERT_EQ(run->wait_exit(seconds(15)), 0) << run->stderr_text();

  // The broker replays it at the next subscription: refused, not written again.
  const std::uint64_t requests = sim_.server().requests_served();
  run = start(config);
  ASSERT_TRUE(results_.wait_for(before + 2, seconds(20))) << run->stderr_text();
  const Json r = Json::parse(results_.messages().back().payload);
  EXPECT_EQ(r.at("status"), "rejected") << r.dump();
  EXPECT_EQ(r.at("id"), "r1");
  EXPECT_NE(r.at("error").get<std::string>().find("retained"), std::string::npos);
  ASSERT_TRUE(requests_reach(requests + 2));  // the new gateway's first poll, nothing more
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(sim_.server().requests_served(), requests + 2);
  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(seconds(15)), 0) << run->stderr_text();
}

// Over MQTT 5 this time: the same subscriptions, results and reload.
TEST_F(WriteMqttTest, ReloadUnsubscribesAPointThatIsNoLongerWritable) {
  const auto config = write_config(true, "5");
  auto run = start(config);
  ASSERT_TRUE(wait_log(*run, "subscribed to 3 command topic(s)")) << run->stderr_text();
  ASSERT_TRUE(requests_reach(2));
  Json r = command(kRelaySet, "false");
  EXPECT_EQ(r.at("status"), "ok") << r.dump();
  EXPECT_EQ(r.at("readback"), false);

  write_config(false, "5");
  ::kill(run->pid(), SIGHUP);
  ASSERT_TRUE(wait_log(*run, "unsubscribed from 1 command topic(s)")) << run->stderr_text();
  ASSERT_TRUE(requests_reach(6));  // write + read-back, then the reloaded gateway's first poll
  const std::uint64_t requests = sim_.server().requests_served();

  publisher_.publish(kRelaySet, "true", 1);
  r = command(kSetpointSet, "6.5");  // still writable: its result marks the relay's turn as past
  EXPECT_EQ(r.at("status"), "ok") << r.dump();
  EXPECT_EQ(r.at("point"), "setpoint");
  EXPECT_EQ(sim_.server().requests_served(), requests + 2);
  EXPECT_FALSE(value_of<bool>(read_independently(), "meter/relay_1"));
  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(seconds(15)), 0) << run->stderr_text();
}

// Issue 14: commands built to hurt. Each gets a result, none reaches the bus,
// and the gateway answers the next good command as if nothing happened.
TEST_F(WriteMqttTest, HostileCommandsAreAnsweredAndTheGatewayStaysUp) {
  // The largest command_max_size, so that the depth limit is what refuses
  // the deep "id" below.
  auto run = start(write_config(true, "3.1.1", "1MiB"));
  ASSERT_TRUE(wait_log(*run, "subscribed to 3 command topic(s)")) << run->stderr_text();
  ASSERT_TRUE(requests_reach(2)) << run->stderr_text();
  const std::uint64_t requests = sim_.server().requests_served();

  // Not UTF-8, to a string point: once an uncaught exception (abort).
  Json r = command(kLabelSet, "\xff\xfe");
  ASSERT_FALSE(r.is_null()) << run->stderr_text();
  EXPECT_EQ(r.at("status"), "rejected") << r.dump();
  EXPECT_EQ(r.at("error"), "payload is not valid UTF-8 (byte 0xFF at offset 0)");
  // ... to a number point: once no result at all.
  r = command(kSetpointSet, "{\"value\": \"\xe9\", \"id\": \"u2\"}");
  ASSERT_FALSE(r.is_null()) << run->stderr_text();
  EXPECT_EQ(r.at("status"), "rejected") << r.dump();
  EXPECT_EQ(r.at("id"), nullptr) << "bytes that are not UTF-8 are not parsed for an id";

  // 60,000 nested arrays in "id": once a stack overflow on Paho's thread.
  r = command(kSetpointSet, R"({"value": 20, "id": )" + std::string(60'000, '[') +
                                std::string(60'000, ']') + "}");
  ASSERT_FALSE(r.is_null()) << run->stderr_text();
  EXPECT_EQ(r.at("status"), "rejected") << r.dump();
  EXPECT_EQ(r.at("error"), "JSON nested deeper than 32 levels");

  // 10 MB: refused by its size, nothing of it echoed or logged.
  r = command(kLabelSet, std::string(10'000'000, 'a'));
  ASSERT_FALSE(r.is_null()) << run->stderr_text();
  EXPECT_EQ(r.at("status"), "rejected") << r.dump().substr(0, 200);
  EXPECT_EQ(r.at("error"),
            "payload of 10000000 bytes is larger than command_max_size (1048576 bytes)");
  EXPECT_LT(run->stderr_text().size(), 100'000u);

  EXPECT_EQ(sim_.server().requests_served(), requests) << "a refused command reached the bus";
  r = command(kLabelSet, R"({"value": "ok", "id": "last"})");
  EXPECT_EQ(r.at("status"), "ok") << r.dump();
  EXPECT_EQ(r.at("readback"), "ok");
  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(seconds(15)), 0) << run->stderr_text();
}

// MQTT 5: the gateway announces the largest packet it takes (4 x
// command_max_size, at least 1 MiB) and the broker keeps anything larger to
// itself. Once Paho C++ 1.2.0 silently dropped the connect properties.
TEST_F(WriteMqttTest, WithMqtt5AHugeCommandIsNotEvenDelivered) {
  auto run = start(write_config(true, "5"));
  ASSERT_TRUE(wait_log(*run, "subscribed to 3 command topic(s)")) << run->stderr_text();
  ASSERT_TRUE(requests_reach(2)) << run->stderr_text();
  // Over command_max_size, under the packet size: answered.
  Json r = command(kLabelSet, std::string(100'000, 'a'));
  ASSERT_FALSE(r.is_null()) << run->stderr_text();
  EXPECT_EQ(r.at("error"), "payload of 100000 bytes is larger than command_max_size (65536 bytes)");
  // Over the packet size: never delivered. Results come in order, so the
  // next one is the small command's.
  const std::size_t before = results_.messages().size();
  publisher_.publish(kLabelSet, std::string(10'000'000, 'a'), 1);
  r = command(kLabelSet, R"({"value": "ok", "id": "after"})");
  ASSERT_FALSE(r.is_null()) << run->stderr_text();
  EXPECT_EQ(r.at("id"), "after") << r.dump();
  EXPECT_EQ(r.at("status"), "ok") << r.dump();
  EXPECT_EQ(results_.messages().size(), before + 1);
  EXPECT_EQ(run->stderr_text().find("10000000 bytes"), std::string::npos) << run->stderr_text();
  ::kill(run->pid(), SIGTERM);
  EXPECT_EQ(run->wait_exit(seconds(15)), 0) << run->stderr_text();
}

}  // namespace
}  // namespace fieldgate::testing
