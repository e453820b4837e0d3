// Gateway (gateway/gateway.hpp) as an object in this process, without the
// command line or signals: start, reload and stop with a real mosquitto and
// the libmodbus power-meter simulator. What `fieldgate run` does through
// cmd_run.cpp, a test (or another front end) can do through these calls, and
// the promise holds: every reading accepted is delivered or still buffered.
#include "gateway/gateway.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "queue/queue_db.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::seconds;

std::string gateway_toml(const std::string& db, const std::string& broker, int port,
                         bool with_frequency) {
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
{}
)",
                     db, broker, port,
                     with_frequency ? "[[devices.points]]\nname = \"frequency\"\nkind = "
                                      "\"input\"\naddress = 22\ntype = \"float32\"\n"
                                    : "");
}

/// Calls the gateway's periodic duties, as the main loop does between
/// signals, until `done` holds or `timeout` passes.
template <class Predicate>
bool tick_until(gateway::Gateway& gateway, Predicate done, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        (void)gateway.tick();
        return done();
      },
      timeout);
}

bool has_topic(const Subscriber& subscriber, const std::string& topic) {
  for (const auto& m : subscriber.messages()) {
    if (m.topic == topic) return true;
  }
  return false;
}

TEST(GatewayObjectTest, StartReloadStopDeliversOrKeepsEveryReading) {
  ScratchDir dir;
  SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", 0}));
  Mosquitto broker(dir.path());
  Subscriber readings(broker.uri(), "fieldgate/gw/meter/+", 1);
  ASSERT_TRUE(readings.wait_connected(seconds(10)));
  const auto db = (dir.path() / "buffer.db").string();
  const auto path =
      dir.write("gateway.toml", gateway_toml(db, broker.uri(), sim.server().port(), false));

  gateway::RunOptions options;
  options.config_path = path.string();
  options.log_level_from_config = false;  // the test's log level stays
  {
    gateway::Gateway gateway(options,
                             std::make_shared<config::Config>(test_support::load_config(path)));
    ASSERT_EQ(gateway.start(), gateway::kExitOk);
    ASSERT_TRUE(tick_until(
        gateway, [&] { return readings.messages().size() >= 5; }, seconds(20)));
    EXPECT_FALSE(has_topic(readings, "fieldgate/gw/meter/frequency"));

    // The new point is polled after reload(); the buffer and the uplink carry on.
    dir.write("gateway.toml", gateway_toml(db, broker.uri(), sim.server().port(), true));
    gateway.reload();
    ASSERT_TRUE(tick_until(
        gateway, [&] { return has_topic(readings, "fieldgate/gw/meter/frequency"); }, seconds(20)));
    gateway.stop();
  }

  // Every seq from 1 to the last handed out was delivered or is still in the
  // buffer for the next start.
  std::set<std::uint64_t> seqs;
  for (const auto& m : readings.messages()) {
    // The device's availability topic ("online") is in the same tree: state, not a reading.
    if (m.topic == "fieldgate/gw/meter/availability") continue;
    seqs.insert(nlohmann::json::parse(m.payload).at("seq").get<std::uint64_t>());
  }
  queue::QueueDb buffer(db, queue::QueueDb::Mode::kRead);
  buffer.for_each({}, [&](const queue::StoredReading& s) {
    seqs.insert(s.reading.seq);
    return true;
  });
  const auto next_seq = buffer.summary().next_seq;
  ASSERT_GT(next_seq, 1U);
  EXPECT_EQ(seqs.size(), next_seq - 1)
      << "a reading between seq 1 and " << next_seq - 1 << " was neither delivered nor kept";
  EXPECT_EQ(*seqs.begin(), 1U);
  EXPECT_EQ(*seqs.rbegin(), next_seq - 1);
}

}  // namespace
}  // namespace fieldgate::testing
