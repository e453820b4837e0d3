// Per-device availability topics (gateway/availability.hpp) end to end: the
// Gateway object with a real mosquitto and the libmodbus power-meter
// simulator behind a TCP proxy that can go silent. A device that stops
// answering turns "offline" and "online" again when it returns; a device that
// never answered starts "offline"; the retained state is what a late
// subscriber sees; the stats JSON says the same; a reload clears a removed
// device's topic; a clean stop leaves the last state (the gateway's own
// status says "offline").
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/gateway.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kMeterTopic = "fieldgate/gw/meter/availability";
constexpr const char* kGhostTopic = "fieldgate/gw/ghost/availability";

std::string device_toml(const std::string& name, int port, int offline_after) {
  return fmt::format(R"(
[[devices]]
name = "{}"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "100ms"
response_timeout = "200ms"
retries = 0
backoff_max = "300ms"
offline_after = {}
[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
)",
                     name, port, offline_after);
}

std::string gateway_toml(const std::string& db, const std::string& broker) {
  return fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "20ms"
[mqtt]
broker = "{}"
status_interval = "1s"
drain_timeout = "3s"
reconnect_min = "100ms"
reconnect_max = "500ms"
)",
                     db, broker);
}

/// Calls the gateway's periodic duties, as the main loop does, until `done`
/// holds or `timeout` passes.
template <class Predicate>
bool tick_until(gateway::Gateway& gateway, Predicate done, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        (void)gateway.tick();
        return done();
      },
      timeout);
}

/// The last payload that arrived on `topic`, if any.
std::optional<std::string> last_on(const Subscriber& subscriber, const std::string& topic) {
  std::optional<std::string> last;
  for (const auto& m : subscriber.messages()) {
    if (m.topic == topic) last = m.payload;
  }
  return last;
}

/// Every payload on `topic`, in order.
std::vector<std::string> all_on(const Subscriber& subscriber, const std::string& topic) {
  std::vector<std::string> out;
  for (const auto& m : subscriber.messages()) {
    if (m.topic == topic) out.push_back(m.payload);
  }
  return out;
}

/// A device's "availability" in the last stats message, "" if none yet.
std::string stats_availability(const Subscriber& stats, const std::string& device) {
  std::string found;
  for (const auto& m : stats.messages()) {
    const auto j = nlohmann::json::parse(m.payload, nullptr, false);
    if (j.is_discarded() || !j.contains("devices")) continue;
    for (const auto& d : j["devices"]) {
      if (d.value("name", "") == device) found = d.value("availability", "");
    }
  }
  return found;
}

TEST(AvailabilityTopicTest, OfflineAfterFailuresOnlineWhenBackRetainedClearedOnReload) {
  ScratchDir dir;
  SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", 0}));
  TcpProxy meter_link(sim.server().port());
  TcpProxy ghost_link(sim.server().port());
  ghost_link.set_blackhole(true);  // a device that never answers
  Mosquitto broker(dir.path());
  Subscriber live(broker.uri(), "fieldgate/gw/+/availability", 1);
  Subscriber stats(broker.uri(), "fieldgate/gw/status/stats", 0);
  ASSERT_TRUE(live.wait_connected(seconds(10)));
  ASSERT_TRUE(stats.wait_connected(seconds(10)));
  const auto db = (dir.path() / "buffer.db").string();
  const auto head = gateway_toml(db, broker.uri());
  const auto path = dir.write("gateway.toml", head + device_toml("meter", meter_link.port(), 3) +
                                                  device_toml("ghost", ghost_link.port(), 2));

  gateway::RunOptions options;
  options.config_path = path.string();
  options.log_level_from_config = false;
  gateway::Gateway gateway(options,
                           std::make_shared<config::Config>(test_support::load_config(path)));
  ASSERT_EQ(gateway.start(), gateway::kExitOk);

  // An answer: online at once. Never an answer: offline once its failures add up.
  ASSERT_TRUE(tick_until(
      gateway,
      [&] {
        return last_on(live, kMeterTopic) == "online" && last_on(live, kGhostTopic) == "offline";
      },
      seconds(30)));
  EXPECT_EQ(all_on(live, kGhostTopic), std::vector<std::string>{"offline"})
      << "a device never reached is never said to be online";
  ASSERT_TRUE(tick_until(
      gateway, [&] { return stats_availability(stats, "meter") == "online"; }, seconds(30)));
  EXPECT_EQ(stats_availability(stats, "ghost"), "offline");

  // The meter stops answering: offline after its failures.
  meter_link.set_blackhole(true);
  ASSERT_TRUE(tick_until(
      gateway, [&] { return last_on(live, kMeterTopic) == "offline"; }, seconds(30)));
  ASSERT_TRUE(tick_until(
      gateway, [&] { return stats_availability(stats, "meter") == "offline"; }, seconds(30)));

  // A late subscriber gets the retained state of every device.
  {
    Subscriber late(broker.uri(), "fieldgate/gw/+/availability", 1);
    ASSERT_TRUE(late.wait_connected(seconds(10)));
    ASSERT_TRUE(late.wait_for(2, seconds(10)));
    EXPECT_EQ(last_on(late, kMeterTopic), "offline");
    EXPECT_EQ(last_on(late, kGhostTopic), "offline");
    for (const auto& m : late.messages()) EXPECT_TRUE(m.retained) << m.topic;
  }

  // It answers again: online.
  meter_link.set_blackhole(false);
  ASSERT_TRUE(tick_until(
      gateway, [&] { return last_on(live, kMeterTopic) == "online"; }, seconds(30)));
  const auto meter_history = all_on(live, kMeterTopic);
  EXPECT_EQ(meter_history, (std::vector<std::string>{"online", "offline", "online"}));

  // A reload without the ghost clears its retained state (an empty message).
  dir.write("gateway.toml", head + device_toml("meter", meter_link.port(), 3));
  gateway.reload();
  ASSERT_TRUE(tick_until(
      gateway, [&] { return last_on(live, kGhostTopic) == ""; }, seconds(30)));
  {
    Subscriber late(broker.uri(), "fieldgate/gw/+/availability", 1);
    ASSERT_TRUE(late.wait_connected(seconds(10)));
    ASSERT_TRUE(late.wait_for(1, seconds(10)));
    EXPECT_EQ(last_on(late, kMeterTopic), "online") << "a kept device keeps its state";
    EXPECT_EQ(last_on(late, kGhostTopic), std::nullopt) << "nothing retained for a removed device";
  }

  // A clean stop says "offline" on the gateway's status topic and leaves the
  // devices' last known states (as a crash would).
  gateway.stop();
  Subscriber after(broker.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(after.wait_connected(seconds(10)));
  ASSERT_TRUE(wait_until(
      [&] {
        return last_on(after, "fieldgate/gw/status").has_value() &&
               last_on(after, kMeterTopic).has_value();
      },
      seconds(10)));
  EXPECT_EQ(last_on(after, "fieldgate/gw/status"), "offline");
  EXPECT_EQ(last_on(after, kMeterTopic), "online");
}

}  // namespace
}  // namespace fieldgate::testing
