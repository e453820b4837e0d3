// `fieldgate scan` against pymodbus (tests/integration/pymodbus_scan_bus.py):
// an RTU bus over a socat pty pair and the same units over Modbus TCP. Three
// meters (one set to CDAB), a dead unit id and a unit that answers garbage;
// the register words are written by hand in the Python file. The snippet scan
// prints is loaded with `check` and polled with `poll`, so the byte order it
// found is shown to read the right values. A SunSpec device (pymodbus_sunspec_server.py)
// is named by its common model.
#include <sys/file.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

const std::string kBus = FIELDGATE_SOURCE_DIR "/tests/integration/pymodbus_scan_bus.py";
const std::vector<std::string> kEnv = {"FIELDGATE_MODELS_DIR=" FIELDGATE_SOURCE_DIR "/models"};

const nlohmann::json* unit_of(const nlohmann::json& report, int unit) {
  for (const auto& u : report.at("units")) {
    if (u.at("unit") == unit) return &u;
  }
  return nullptr;
}

bool matches_model(const nlohmann::json& unit, const std::string& model,
                   const nlohmann::json& order) {
  for (const auto& m : unit.at("matches")) {
    if (m.at("model") == model && m.at("byte_order") == order) return true;
  }
  return false;
}

// Every reading of `poll --once --json`, by "device/point".
std::map<std::string, nlohmann::json> poll_once(const ScratchDir& dir,
                                                const std::filesystem::path& config) {
  const auto r = run_command({kBinary, "poll", "-c", config.string(), "--once", "--json"},
                             dir.path(), std::chrono::seconds(30), kEnv);
  // 2: some points could not be read; the Python map holds only the words
  // the tests look at, the rest of each model's map answers "illegal address".
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r.exit_code << r.out << r.err;
  std::map<std::string, nlohmann::json> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    out[j.at("device").get<std::string>() + "/" + j.at("point").get<std::string>()] = j;
  }
  return out;
}

double value_of(const std::map<std::string, nlohmann::json>& readings, const std::string& key) {
  const auto it = readings.find(key);
  if (it == readings.end() || !it->second.at("value").is_number()) return NAN;
  return it->second.at("value").get<double>();
}

class ScanRtuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = start_peer({FIELDGATE_PYTHON, kBus, "rtu", ptys_.a(), "19200"}, dir_.path(), "ready",
                      std::chrono::seconds(20));
  }

  RunResult scan(std::vector<std::string> extra) const {
    std::vector<std::string> argv{kBinary,  "scan",      "rtu",      "--device", ptys_.b(),
                                  "--baud", "19200",     "--parity", "none",     "--units",
                                  "1-5",    "--timeout", "300ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, dir_.path(), std::chrono::seconds(60), kEnv);
  }

  ScratchDir dir_;
  PtyPair ptys_{dir_.path()};
  std::unique_ptr<ChildProcess> bus_;
};

TEST_F(ScanRtuTest, FindsTheMetersTheirByteOrderAndTheSnippetReadsThem) {
  const auto r = scan({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report.at("transport"), "rtu");

  const auto* abcd = unit_of(report, 1);
  ASSERT_NE(abcd, nullptr) << report.dump(2);
  EXPECT_EQ(abcd->at("state"), "identified");
  EXPECT_TRUE(matches_model(*abcd, "eastron-sdm630", nullptr)) << abcd->dump(2);
  EXPECT_TRUE(abcd->at("byte_order").is_null());

  const auto* cdab = unit_of(report, 2);
  ASSERT_NE(cdab, nullptr) << report.dump(2);
  EXPECT_EQ(cdab->at("state"), "identified");
  EXPECT_TRUE(matches_model(*cdab, "eastron-sdm630", "CDAB")) << cdab->dump(2);
  EXPECT_EQ(cdab->at("byte_order"), "CDAB");

  const auto* em340 = unit_of(report, 3);
  ASSERT_NE(em340, nullptr) << report.dump(2);
  EXPECT_EQ(em340->at("model"), "carlogavazzi-em340");
  EXPECT_EQ(em340->at("matches").size(), 1u) << em340->dump(2);
  EXPECT_TRUE(em340->at("byte_order").is_null());

  EXPECT_EQ(unit_of(report, 4), nullptr) << "the dead unit is only in `silent`";
  ASSERT_EQ(report.at("silent").size(), 1u) << report.dump(2);
  EXPECT_EQ(report.at("silent")[0].at("units"), nlohmann::json::array({4}));

  const auto* garbage = unit_of(report, 5);
  ASSERT_NE(garbage, nullptr) << report.dump(2);
  EXPECT_EQ(garbage->at("state"), "unknown");
  EXPECT_TRUE(garbage->at("model").is_null());
  EXPECT_TRUE(garbage->at("matches").empty());
  EXPECT_TRUE(report.at("stopped").is_null());

  // The snippet loads, and polls the values the Python file holds.
  const auto config = dir_.write("scanned.toml", report.at("snippet").get<std::string>());
  const auto check = run_command({kBinary, "check", "-c", config.string()}, dir_.path(),
                                 std::chrono::seconds(30), kEnv);
  ASSERT_EQ(check.exit_code, 0) << report.at("snippet").get<std::string>() << check.out
                                << check.err;
  const auto readings = poll_once(dir_, config);
  const std::string first = abcd->at("model");
  const std::string second = cdab->at("model");
  EXPECT_DOUBLE_EQ(value_of(readings, first + "-1/voltage_l1"), 230.5);
  EXPECT_DOUBLE_EQ(value_of(readings, first + "-1/frequency"), 50.0);
  EXPECT_DOUBLE_EQ(value_of(readings, second + "-2/voltage_l1"), 230.5);
  EXPECT_DOUBLE_EQ(value_of(readings, second + "-2/frequency"), 50.0);
  EXPECT_NEAR(value_of(readings, "carlogavazzi-em340-3/voltage_l1"), 231.2, 1e-9);
  EXPECT_NEAR(value_of(readings, "carlogavazzi-em340-3/frequency"), 49.9, 1e-9);
}

TEST_F(ScanRtuTest, TextReportNamesSilentAndUnknownUnits) {
  const auto r = scan({});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("unit   5: answers, unknown"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("silent: 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("byte order CDAB"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[[buses]]"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Read requests only"), std::string::npos) << r.err;
}

TEST_F(ScanRtuTest, RefusesAPortThatAGatewayHolds) {
  // `poll` holds the bus the way `run` does (the same ModbusLink).
  const auto config = dir_.write("poll.toml", fmt::format(R"(
[[buses]]
name = "rs485"
port = "{}"
baud = 19200
parity = "none"

[[devices]]
name = "meter"
driver = "modbus-rtu"
bus = "rs485"
unit_id = 1
model = "eastron-sdm630"
points = ["voltage_l1"]
poll_interval = "200ms"
)",
                                                          ptys_.b()));
  ChildProcess poll({kBinary, "poll", "-c", config.string(), "--duration", "30s"}, dir_.path(),
                    kEnv);
  ASSERT_TRUE(poll.wait_for_output("voltage_l1", std::chrono::seconds(20))) << poll.report();
  const auto r = scan({});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("is in use by another process"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("unit"), std::string::npos) << "nothing was scanned: " << r.out;
}

TEST(ScanLockTest, RefusesAPortLockedByAnotherProcess) {
  ScratchDir dir;
  PtyPair ptys(dir.path());
  const int fd = ::open(ptys.b().c_str(), O_RDWR | O_NOCTTY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const auto r = run_command({kBinary, "scan", "rtu", "--device", ptys.b(), "--baud", "9600",
                              "--parity", "none", "--units", "1"},
                             dir.path(), std::chrono::seconds(30), kEnv);
  ::close(fd);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(ptys.b() + " is in use by another process"), std::string::npos) << r.err;
}

// A pymodbus TCP peer on a free port (pymodbus cannot report an ephemeral
// one: take a free port and retry on a race).
std::unique_ptr<ChildProcess> start_tcp_peer(std::vector<std::string> argv, const ScratchDir& dir,
                                             int& port) {
  std::string failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port = free_loopback_port();
    auto args = argv;
    args.push_back(std::to_string(port));
    try {
      return start_peer(args, dir.path(), "ready", std::chrono::seconds(20));
    } catch (const std::runtime_error& e) {
      failure = e.what();
    }
  }
  ADD_FAILURE() << failure;
  return nullptr;
}

TEST(ScanCliTest, WrongValuesAreNamedBeforeTheLineIsOpened) {
  ScratchDir dir;
  const auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{kBinary, "scan", "rtu", "--device", "/nonexistent/tty"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, dir.path(), std::chrono::seconds(30), kEnv);
  };
  auto r = run({"--units", "1-300"});
  EXPECT_GE(r.exit_code, 100) << r.err;
  EXPECT_NE(r.err.find("--units: expected ids 1..247"), std::string::npos) << r.err;
  r = run({"--parity", "mark"});
  EXPECT_GE(r.exit_code, 100) << r.err;
  EXPECT_NE(r.err.find("--parity: expected none, even, odd"), std::string::npos) << r.err;
  r = run({"--timeout", "0ms"});
  EXPECT_GE(r.exit_code, 100) << r.err;
  EXPECT_NE(r.err.find("--timeout: expected a duration 10ms..10s"), std::string::npos) << r.err;
  // A port that is not there: the line cannot be opened.
  r = run({"--units", "1", "--baud", "9600", "--parity", "none"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/tty"), std::string::npos) << r.err;
}

class ScanTcpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bus_ = start_tcp_peer({FIELDGATE_PYTHON, kBus, "tcp"}, dir_, port_);
    ASSERT_TRUE(bus_);
  }

  RunResult scan(std::vector<std::string> extra) const {
    std::vector<std::string> argv{
        kBinary, "scan", "tcp", "--host", "127.0.0.1", "--port", std::to_string(port_), "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, dir_.path(), std::chrono::seconds(60), kEnv);
  }

  ScratchDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> bus_;
};

TEST_F(ScanTcpTest, IdentificationPicksTheModelAmongThoseTheProbeFits) {
  const auto r = scan({"--units", "1-5", "--timeout", "300ms"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report.at("transport"), "tcp");
  const auto* meter = unit_of(report, 1);
  ASSERT_NE(meter, nullptr) << report.dump(2);
  // The probe fits every Eastron meter with the same registers; 43/14 says SDM630.
  EXPECT_EQ(meter->at("model"), "eastron-sdm630") << meter->dump(2);
  EXPECT_GT(meter->at("matches").size(), 1u);
  EXPECT_EQ(meter->at("identification").at("vendor"), "Eastron");
  EXPECT_EQ(meter->at("identification").at("product_code"), "SDM630");
  const auto* cdab = unit_of(report, 2);
  ASSERT_NE(cdab, nullptr);
  EXPECT_EQ(cdab->at("model"), "eastron-sdm630");
  EXPECT_EQ(cdab->at("byte_order"), "CDAB");
  EXPECT_EQ(unit_of(report, 3)->at("model"), "carlogavazzi-em340");
  EXPECT_EQ(unit_of(report, 4), nullptr);
  EXPECT_EQ(unit_of(report, 5)->at("state"), "unknown");
  const std::string snippet = report.at("snippet");
  EXPECT_NE(snippet.find(fmt::format("port = {}", port_)), std::string::npos) << snippet;
  const auto config = dir_.write("scanned.toml", snippet);
  const auto check = run_command({kBinary, "check", "-c", config.string()}, dir_.path(),
                                 std::chrono::seconds(30), kEnv);
  EXPECT_EQ(check.exit_code, 0) << snippet << check.out << check.err;
  const auto readings = poll_once(dir_, config);
  EXPECT_DOUBLE_EQ(value_of(readings, "eastron-sdm630-2/voltage_l1"), 230.5);
}

TEST_F(ScanTcpTest, MaxTimeStopsAndSaysWhatWasNotTried) {
  const auto r = scan({"--units", "6-200", "--timeout", "100ms", "--max-time", "1s"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report.at("stopped"), "--max-time reached");
  const auto& skipped = report.at("skipped").at("units");
  ASSERT_FALSE(skipped.empty());
  EXPECT_EQ(skipped.back(), 200);
  const auto& silent = report.at("silent").at(0).at("units");
  EXPECT_EQ(silent.size() + skipped.size(), 195u) << "every unit is tried or named as skipped";
  EXPECT_EQ(report.at("snippet"), "");
}

TEST(ScanSunSpecTest, ASunSpecDeviceIsNamedByItsCommonModel) {
  ScratchDir dir;
  int port = 0;
  const auto peer = start_tcp_peer(
      {FIELDGATE_PYTHON, FIELDGATE_SOURCE_DIR "/tests/integration/pymodbus_sunspec_server.py"}, dir,
      port);
  ASSERT_TRUE(peer);
  const auto r = run_command({kBinary, "scan", "tcp", "--host", "127.0.0.1", "--port",
                              std::to_string(port), "--units", "1", "--json"},
                             dir.path(), std::chrono::seconds(60), kEnv);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(r.out);
  const auto* unit = unit_of(report, 1);
  ASSERT_NE(unit, nullptr) << report.dump(2);
  EXPECT_EQ(unit->at("model"), "sunspec");
  // The words pymodbus_sunspec_server.py holds in model 1.
  EXPECT_EQ(unit->at("sunspec").at("common"), "SunSpecTest PY-INV-3, serial SN-0001, version 2.1");
  const std::string models = unit->at("sunspec").at("models");
  EXPECT_EQ(models.rfind("SunSpec at 40000: 1 common @40002 (66)", 0), 0u) << models;
  const std::string snippet = report.at("snippet");
  EXPECT_NE(snippet.find("model = \"sunspec\""), std::string::npos) << snippet;
  const auto config = dir.write("scanned.toml", snippet);
  const auto check = run_command({kBinary, "check", "-c", config.string()}, dir.path(),
                                 std::chrono::seconds(30), kEnv);
  EXPECT_EQ(check.exit_code, 0) << snippet << check.out << check.err;
}

// `fieldgate simulate`'s own meters, as the "try it with no hardware" path of
// docs/SCAN.md uses them. The simulator is a libmodbus server: it does not
// know 43/14 and answers it only after its byte timeout, later than the
// scan waits; the reads after it must still get their own answers.
TEST(ScanSimulatorTest, TheLibraryMeterAndSunSpecSimulatorsAreIdentified) {
  ScratchDir dir;
  const auto scan_profile = [&](const std::string& profile) {
    ChildProcess sim({kBinary, "simulate", "modbus-tcp", "--port", "0", "--profile", profile},
                     dir.path(), kEnv);
    EXPECT_TRUE(
        sim.wait_for_output("simulating " + profile + " on Modbus TCP", std::chrono::seconds(10)))
        << sim.stderr_text();
    const auto out = sim.stdout_text();
    const auto port = out.substr(out.rfind(':') + 1);
    const auto r = run_command(
        {kBinary, "scan", "tcp", "--host", "127.0.0.1", "--port",
         port.substr(0, port.find_first_not_of("0123456789")), "--units", "1", "--json"},
        dir.path(), std::chrono::seconds(60), kEnv);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return nlohmann::json::parse(r.out);
  };

  const auto meter = scan_profile("eastron-sdm630");
  const auto* unit = unit_of(meter, 1);
  ASSERT_NE(unit, nullptr) << meter.dump(2);
  EXPECT_EQ(unit->at("state"), "identified") << unit->dump(2);
  // In the model's own byte order (null); the other Eastron models read the
  // same registers and match too (docs/SCAN.md says how to tell them apart).
  EXPECT_TRUE(matches_model(*unit, "eastron-sdm630", nullptr)) << unit->dump(2);
  const std::string snippet = meter.at("snippet");
  const auto config = dir.write("sdm630.toml", snippet);
  const auto check = run_command({kBinary, "check", "-c", config.string()}, dir.path(),
                                 std::chrono::seconds(30), kEnv);
  EXPECT_EQ(check.exit_code, 0) << snippet << check.out << check.err;

  const auto inverter = scan_profile("sunspec-inverter");
  const auto* sunspec = unit_of(inverter, 1);
  ASSERT_NE(sunspec, nullptr) << inverter.dump(2);
  EXPECT_EQ(sunspec->at("model"), "sunspec") << sunspec->dump(2);
}

}  // namespace
}  // namespace fieldgate::testing
