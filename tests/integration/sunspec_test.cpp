// SunSpec auto-discovery end to end: a SunSpec chain written out by hand on
// pymodbus (tests/integration/pymodbus_sunspec_server.py) read by `fieldgate
// run` with no map and published to a real mosquitto; `poll` and `check
// --probe` showing the models; the sunspec-inverter simulator read with no map.
#include <gtest/gtest.h>

#include <signal.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

class SunSpecTest : public ::testing::Test {
 protected:
  void start_pymodbus() {
    std::string failure;
    for (int attempt = 0; attempt < 3 && !server_; ++attempt) {
      if (port_ == 0) port_ = free_loopback_port();
      try {
        server_ = start_peer(
            {FIELDGATE_PYTHON, FIELDGATE_SOURCE_DIR "/tests/integration/pymodbus_sunspec_server.py",
             std::to_string(port_)},
            scratch_.path(), "ready", 20s);
      } catch (const std::runtime_error& e) {
        failure = e.what();
        port_ = 0;
      }
    }
    ASSERT_TRUE(server_) << "pymodbus server did not start: " << failure;
  }

  std::filesystem::path config(const std::string& broker_uri = "tcp://127.0.0.1:1") const {
    return scratch_.write("sunspec.toml",
                          fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
[mqtt]
broker = "{}"
reconnect_min = "100ms"
reconnect_max = "500ms"
[[devices]]
name = "inv"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
model = "sunspec"
poll_interval = "200ms"
response_timeout = "2s"
backoff_max = "500ms"
)",
                                      (scratch_.path() / "buffer.db").string(), broker_uri, port_));
  }

  ScratchDir scratch_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

// The latest payload of each topic below fieldgate/gw/inv/.
std::map<std::string, nlohmann::json> latest(const Subscriber& sub) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& m : sub.messages()) {
    if (m.topic.ends_with("/availability")) continue;
    out[m.topic.substr(std::string("fieldgate/gw/inv/").size())] = nlohmann::json::parse(m.payload);
  }
  return out;
}

// Point -> (value, unit) the hand-written chain stands for.
const std::map<std::string, std::pair<nlohmann::json, std::string>> kExpected{
    {"common_manufacturer", {"SunSpecTest", ""}},
    {"common_model", {"PY-INV-3", ""}},
    {"common_version", {"2.1", ""}},
    {"common_serial_number", {"SN-0001", ""}},
    {"inverter_current_total", {12.34, "A"}},
    {"inverter_current_l1", {4.11, "A"}},
    {"inverter_voltage_l1", {230.1, "V"}},
    {"inverter_power_active_total", {3000, "W"}},
    {"inverter_frequency", {50.01, "Hz"}},
    {"inverter_energy_total", {1234567, "Wh"}},
    {"inverter_temperature_cabinet", {35.5, "C"}},
    {"inverter_state", {4, ""}},
    {"inverter_events_1", {0, ""}},
    {"mppt_modules", {2, ""}},
    {"mppt_events", {0, ""}},
    {"mppt_1_module_id", {1, ""}},
    {"mppt_1_module_name", {"PV1", ""}},
    {"mppt_1_dc_current", {5.12, "A"}},
    {"mppt_1_dc_voltage", {640.0, "V"}},
    {"mppt_1_dc_power", {3277, "W"}},
    {"mppt_1_dc_energy_total", {100000, "Wh"}},
    {"mppt_1_state", {4, ""}},
    {"mppt_1_events", {0, ""}},
    {"mppt_2_module_id", {2, ""}},
    {"mppt_2_module_name", {"PV2", ""}},
    {"mppt_2_dc_voltage", {600.0, "V"}},
    {"mppt_2_dc_power", {1500, "W"}},
    {"mppt_2_state", {4, ""}},
    {"mppt_2_events", {0, ""}},
    {"meter_current_total", {10.5, "A"}},
    {"meter_voltage_l1", {230.5, "V"}},
    {"meter_frequency", {49.98, "Hz"}},
    {"meter_power_active_total", {-2300.0, "W"}},
    {"meter_energy_import_total", {123456.0, "Wh"}},
};

TEST_F(SunSpecTest, AHandBuiltChainOnPymodbusIsPublishedWithNoMap) {
  start_pymodbus();
  Mosquitto broker(scratch_.path());
  Subscriber sub(broker.uri(), "fieldgate/gw/inv/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  ChildProcess run({kBinary, "run", "-c", config(broker.uri()).string()}, scratch_.path());

  // Every expected point, each at least twice (two polls): then a point that
  // never came is one the gateway left out.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::map<std::string, int> counts;
  while (std::chrono::steady_clock::now() < deadline) {
    counts.clear();
    for (const auto& m : sub.messages()) ++counts[m.topic];
    const bool all = std::all_of(kExpected.begin(), kExpected.end(), [&](const auto& e) {
      return counts["fieldgate/gw/inv/" + e.first] >= 2;
    });
    if (all) break;
    sub.wait_for(sub.messages().size() + 1, 1s);
  }
  const auto values = latest(sub);
  for (const auto& [point, expected] : kExpected) {
    ASSERT_TRUE(values.contains(point)) << point << "\n" << run.stderr_text();
    EXPECT_EQ(values.at(point).at("value"), expected.first) << point;
    EXPECT_EQ(values.at(point).value("unit", ""), expected.second) << point;
    EXPECT_EQ(values.at(point).at("quality"), "good") << point;
  }
  // Not implemented (the type's value, a scale factor not implemented or out
  // of range, an accumulator at 0): never published, not even as a number.
  std::set<std::string> published;
  for (const auto& [point, payload] : values) published.insert(point);
  std::set<std::string> expected_points;
  for (const auto& [point, e] : kExpected) expected_points.insert(point);
  EXPECT_EQ(published, expected_points);
  for (const char* absent :
       {"inverter_current_l2", "inverter_power_factor", "inverter_dc_voltage", "inverter_dc_power",
        "inverter_dc_current", "inverter_events_2", "common_options", "common_device_address",
        "mppt_2_dc_current", "mppt_2_dc_energy_total", "mppt_1_temperature", "meter_voltage_l2",
        "meter_energy_export_total"}) {
    EXPECT_FALSE(values.contains(absent)) << absent;
  }
  const auto log = run.stderr_text();
  EXPECT_NE(log.find("model 64999 at 40070 (4 registers): not decoded, skipped"), std::string::npos)
      << log;
}

TEST_F(SunSpecTest, PollAndCheckProbeShowTheDiscoveredModels) {
  start_pymodbus();
  const auto cfg = config().string();
  const std::string models =
      "SunSpec at 40000: 1 common @40002 (66), 64999 unknown [not decoded] @40070 (4), 103 "
      "inverter_three_phase @40076 (50), 160 mppt @40128 (48), 213 ac_meter_abcn_float @40178 "
      "(124)";
  const auto poll = run_command({kBinary, "poll", "-c", cfg, "--once"}, scratch_.path(), 60s);
  EXPECT_EQ(poll.exit_code, 0) << poll.err;
  EXPECT_NE(poll.err.find(models), std::string::npos) << poll.err;
  EXPECT_NE(poll.out.find("inverter_voltage_l1"), std::string::npos) << poll.out;

  const auto plain = run_command({kBinary, "check", "-c", cfg}, scratch_.path(), 60s);
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("is walked at the first poll"), std::string::npos) << plain.out;

  const auto probe = run_command({kBinary, "check", "-c", cfg, "--probe"}, scratch_.path(), 60s);
  EXPECT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_NE(probe.out.find(models), std::string::npos) << probe.out;
  EXPECT_NE(probe.out.find("probe: answered"), std::string::npos) << probe.out;
  // The decoded models are read whole, the unknown one is not read at all.
  EXPECT_NE(probe.out.find("holding 40002..40069 (68 registers)"), std::string::npos) << probe.out;
  EXPECT_NE(probe.out.find("holding 40076..40200 (125 registers)"), std::string::npos) << probe.out;
}

TEST_F(SunSpecTest, TheSunSpecInverterSimulatorIsReadWithNoMap) {
  ChildProcess sim(
      {kBinary, "simulate", "modbus-tcp", "--port", "0", "--profile", "sunspec-inverter"},
      scratch_.path());
  ASSERT_TRUE(sim.wait_for_output("simulating", 10s)) << sim.stderr_text();
  const auto out = sim.stdout_text();
  port_ = std::stoi(out.substr(out.rfind(':') + 1));
  const auto poll = run_command({kBinary, "poll", "-c", config().string(), "--once", "--json"},
                                scratch_.path(), 60s);
  ASSERT_EQ(poll.exit_code, 0) << poll.err;
  std::map<std::string, nlohmann::json> readings;
  std::istringstream lines(poll.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    readings[j.at("point").get<std::string>()] = j;
  }
  EXPECT_EQ(readings.at("common_manufacturer").at("value"), "fieldgate");
  EXPECT_EQ(readings.at("common_serial_number").at("value"), "FG-INV-000042");
  EXPECT_GT(readings.at("inverter_power_active_total").at("value").get<double>(), 0);
  EXPECT_EQ(readings.at("inverter_power_active_total").at("unit"), "W");
  EXPECT_NEAR(readings.at("inverter_voltage_l1").at("value").get<double>(), 230, 6);
  EXPECT_GT(readings.at("mppt_2_dc_power").at("value").get<double>(), 0);
  EXPECT_GT(readings.at("meter_energy_import_total").at("value").get<double>(), 3e6);
  EXPECT_EQ(readings.at("meter_energy_import_total").at("unit"), "Wh");
  // Left not implemented by the profile, so absent here.
  EXPECT_FALSE(readings.contains("inverter_voltage_l1_l2"));
  EXPECT_FALSE(readings.contains("mppt_1_temperature"));
  EXPECT_FALSE(readings.contains("meter_energy_apparent_import_total"));
  EXPECT_NE(poll.err.find("SunSpec at 40000: 1 common @40002 (66), 103 inverter_three_phase @40070 "
                          "(50), 160 mppt @40122 (48), 203 ac_meter_abcn @40172 (105)"),
            std::string::npos)
      << poll.err;
}

// Waits until `child`'s stderr holds `needle` (false after `timeout`).
bool wait_for_log(ChildProcess& child, const std::string& needle, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (child.stderr_text().find(needle) != std::string::npos) return true;
    if (!child.running()) return false;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::size_t count_topic(const Subscriber& sub, const std::string& topic) {
  std::size_t n = 0;
  // Good readings only: with the device away, its points are published as
  // failed readings (quality no_connection) from the kept layout.
  for (const auto& m : sub.messages()) {
    if (m.topic == topic && nlohmann::json::parse(m.payload).value("quality", "") == "good") ++n;
  }
  return n;
}

TEST_F(SunSpecTest, AKeptLayoutLetsTheGatewayStartWithTheDeviceAwayAndPublishWhenItAnswers) {
  start_pymodbus();
  Mosquitto broker(scratch_.path());
  Subscriber sub(broker.uri(), "fieldgate/gw/inv/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  const auto cfg = config(broker.uri()).string();
  const std::string topic = "fieldgate/gw/inv/inverter_voltage_l1";
  {
    ChildProcess first({kBinary, "run", "-c", cfg}, scratch_.path());
    ASSERT_TRUE(wait_for_log(first, "SunSpec layout walked", 30s)) << first.stderr_text();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (count_topic(sub, topic) == 0 && std::chrono::steady_clock::now() < deadline) {
      sub.wait_for(sub.messages().size() + 1, 1s);
    }
    ASSERT_GT(count_topic(sub, topic), 0U) << first.stderr_text();
    ::kill(first.pid(), SIGTERM);
    ASSERT_EQ(first.wait_exit(30s), 0) << first.stderr_text();
  }

  server_.reset();  // the device goes away
  ChildProcess second({kBinary, "run", "-c", cfg}, scratch_.path());
  ASSERT_TRUE(wait_for_log(second, "SunSpec layout kept from an earlier run", 30s))
      << second.stderr_text();
  ASSERT_TRUE(wait_for_log(second, "cannot connect", 30s)) << second.stderr_text();
  const auto before = count_topic(sub, topic);
  start_pymodbus();  // back, on the same port
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (count_topic(sub, topic) == before && std::chrono::steady_clock::now() < deadline) {
    sub.wait_for(sub.messages().size() + 1, 1s);
  }
  EXPECT_GT(count_topic(sub, topic), before) << second.stderr_text();
  // Published from the kept layout: the chain was not walked again.
  EXPECT_EQ(second.stderr_text().find("SunSpec layout walked"), std::string::npos)
      << second.stderr_text();
  ::kill(second.pid(), SIGTERM);
  ASSERT_EQ(second.wait_exit(30s), 0) << second.stderr_text();

  // --rediscover walks again although a layout is kept.
  ChildProcess third({kBinary, "run", "-c", cfg, "--rediscover"}, scratch_.path());
  EXPECT_TRUE(wait_for_log(third, "SunSpec layout walked", 30s)) << third.stderr_text();
  EXPECT_EQ(third.stderr_text().find("kept from an earlier run"), std::string::npos);
}

}  // namespace
}  // namespace fieldgate::testing
