// The fieldgate binary as a technician runs it: check, poll and simulate, as
// separate processes talking over loopback and a pty pair.
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "tests/support/json_lines.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

const std::filesystem::path kExamples =
    std::filesystem::path(FIELDGATE_SOURCE_DIR) / "config/examples";

/// Starts `fieldgate simulate modbus-tcp --port 0` and returns its port.
int start_tcp_simulator(std::unique_ptr<ChildProcess>& sim, const ScratchDir& dir) {
  sim = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBinary, "simulate", "modbus-tcp", "--port", "0"}, dir.path());
  if (!sim->wait_for_output("simulating", std::chrono::seconds(10))) return 0;
  std::smatch m;
  const auto out = sim->stdout_text();
  if (!std::regex_search(out, m, std::regex(R"(127\.0\.0\.1:(\d+))"))) return 0;
  return std::stoi(m[1]);
}

TEST(CliTest, EveryExampleConfigPassesCheckAndPrintsItsPlan) {
  ScratchDir dir;
  int examples = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kExamples)) {
    if (entry.path().extension() != ".toml") continue;
    ++examples;
    const auto result = run_command({kBinary, "check", "-c", entry.path().string()}, dir.path());
    EXPECT_EQ(result.exit_code, 0) << entry.path() << "\n" << result.err;
    EXPECT_NE(result.out.find(": OK: "), std::string::npos) << result.out;
    EXPECT_NE(result.out.find(" every "), std::string::npos) << "no request plan: " << result.out;
  }
  EXPECT_GE(examples, 2);
}

TEST(CliTest, CheckJsonListsTheRequestsOfEachDevice) {
  ScratchDir dir;
  const auto result =
      run_command({kBinary, "check", "--json", "-c", (kExamples / "power-meter-tcp.toml").string()},
                  dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto plan = nlohmann::json::parse(result.out);
  EXPECT_TRUE(plan["ok"].get<bool>());
  ASSERT_FALSE(plan["devices"].empty());
  EXPECT_FALSE(plan["devices"][0]["requests"].empty());
  EXPECT_GT(plan["points"].get<int>(), plan["requests"].get<int>());  // coalesced
  // Without [mqtt] there is no availability topic to name.
  EXPECT_FALSE(plan["devices"][0].contains("availability_topic"));
}

TEST(CliTest, CheckNamesEachDevicesAvailabilityTopic) {
  ScratchDir dir;
  const auto path = dir.write("gateway.toml", R"([gateway]
name = "gw"
[mqtt]
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
offline_after = 5
points = [{ name = "p", kind = "coil", address = 0 }]
)");
  const auto json = run_command({kBinary, "check", "--json", "-c", path.string()}, dir.path());
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto plan = nlohmann::json::parse(json.out);
  EXPECT_EQ(plan["devices"][0]["availability_topic"], "fieldgate/gw/meter/availability");
  EXPECT_EQ(plan["devices"][0]["offline_after"], 5);
  const auto text = run_command({kBinary, "check", "-c", path.string()}, dir.path());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("availability on fieldgate/gw/meter/availability: offline after 5 "
                          "failed polls in a row"),
            std::string::npos)
      << text.out;
}

TEST(CliTest, CheckRejectsABadConfigWithFileLineAndColumnAndStartsNothing) {
  ScratchDir dir;
  const auto path = dir.write("bad.toml", R"([[devices]]
name = "m"
driver = "modbus-tcp"
host = "127.0.0.1"
unit_id = 300
[[devices.points]]
name = "p"
kind = "holding"
address = 0
type = "float"
)");
  const auto result = run_command({kBinary, "check", "-c", path.string()}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("bad.toml:5:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("devices[0].unit_id"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("bad.toml:10:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("devices[0].points[0].type"), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;

  const auto poll = run_command({kBinary, "poll", "--once", "-c", path.string()}, dir.path());
  EXPECT_EQ(poll.exit_code, 1);
  EXPECT_TRUE(poll.out.empty()) << "a config that cannot be read must never start polling";
}

TEST(CliTest, PollOnceReadsTheSimulatorAsJsonLines) {
  ScratchDir dir;
  std::unique_ptr<ChildProcess> sim;
  const int port = start_tcp_simulator(sim, dir);
  ASSERT_GT(port, 0) << sim->stderr_text();

  const auto result = run_command(
      {kBinary, "poll", "--once", "--json", "-c", (kExamples / "power-meter-tcp.toml").string()},
      dir.path(), std::chrono::seconds(30), {"METER_PORT=" + std::to_string(port)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto readings = json_lines(result.out);
  ASSERT_FALSE(readings.empty());
  bool saw_voltage = false;
  for (const auto& r : readings) {
    EXPECT_EQ(r["quality"], "good") << r.dump();
    EXPECT_FALSE(r["value"].is_null()) << r.dump();
    EXPECT_GT(r["ts_ms"].get<std::int64_t>(), 0);
    if (r["point"] == "voltage_l1") {
      saw_voltage = true;
      EXPECT_NEAR(r["value"].get<double>(), 230.0, 10.0);
      EXPECT_EQ(r["unit"], "V");
    }
  }
  EXPECT_TRUE(saw_voltage) << result.out;
  EXPECT_NE(result.err.find("device health"), std::string::npos);
}

TEST(CliTest, PollOnceAgainstNobodyExitsTwoAndReportsEveryPoint) {
  ScratchDir dir;
  const int port = free_loopback_port();  // nothing listens there
  const auto result = run_command(
      {kBinary, "poll", "--once", "--json", "-c", (kExamples / "power-meter-tcp.toml").string()},
      dir.path(), std::chrono::seconds(30), {"METER_PORT=" + std::to_string(port)});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  const auto readings = json_lines(result.out);
  ASSERT_FALSE(readings.empty());
  for (const auto& r : readings) {
    EXPECT_EQ(r["quality"], "no_connection") << r.dump();
    EXPECT_TRUE(r["value"].is_null()) << r.dump();
  }
  EXPECT_NE(result.err.find("DOWN"), std::string::npos) << result.err;
}

TEST(CliTest, SimulateAndPollOverRtuOnAPtyPair) {
  ScratchDir dir;
  PtyPair ptys(dir.path());
  ChildProcess sim({kBinary, "simulate", "modbus-rtu", "--device", ptys.a(), "--baud", "9600"},
                   dir.path());
  ASSERT_TRUE(sim.wait_for_output("simulating", std::chrono::seconds(10))) << sim.stderr_text();

  const auto result = run_command(
      {kBinary, "poll", "--once", "--json", "-c", (kExamples / "power-meter-rtu.toml").string()},
      dir.path(), std::chrono::seconds(30), {"METER_TTY=" + ptys.b()});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto readings = json_lines(result.out);
  ASSERT_FALSE(readings.empty());
  for (const auto& r : readings) EXPECT_EQ(r["quality"], "good") << r.dump();
}

TEST(CliTest, PollRunsForItsDurationAndKeepsPolling) {
  ScratchDir dir;
  std::unique_ptr<ChildProcess> sim;
  const int port = start_tcp_simulator(sim, dir);
  ASSERT_GT(port, 0);
  const auto result =
      run_command({kBinary, "poll", "--duration", "2500ms", "--json", "--device", "meter", "-c",
                   (kExamples / "power-meter-tcp.toml").string()},
                  dir.path(), std::chrono::seconds(30), {"METER_PORT=" + std::to_string(port)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  int voltage_readings = 0;
  for (const auto& r : json_lines(result.out)) {
    EXPECT_EQ(r["device"], "meter");
    if (r["point"] == "voltage_l1") ++voltage_readings;
  }
  // Polled every second: at t = 0, 1 and 2 s.
  EXPECT_GE(voltage_readings, 2);
  EXPECT_LE(voltage_readings, 4);
}

}  // namespace
}  // namespace fieldgate::testing
