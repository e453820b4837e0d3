// The fieldgate binary on the cardio example, as a technician runs it:
// `simulate serial` writes a monitor's lines into one end of a socat pty pair,
// `poll` reads the other end through config/examples/cardio-monitor.toml
// ($MONITOR_TTY), once as JSON, and with --raw to show the frames as received.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "tests/support/json_lines.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

const std::string kCardio =
    (std::filesystem::path(FIELDGATE_SOURCE_DIR) / "config/examples/cardio-monitor.toml").string();

struct Monitor {
  ScratchDir dir;
  PtyPair pty{dir.path()};
  std::unique_ptr<ChildProcess> sim;

  explicit Monitor(std::vector<std::string> extra) {
    std::vector<std::string> argv{kBinary, "simulate",  "serial", "--device",
                                  pty.a(), "--profile", "cardio"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    sim = std::make_unique<ChildProcess>(argv, dir.path());
    if (!sim->wait_for_output("simulating cardio", std::chrono::seconds(10))) {
      throw std::runtime_error("simulator did not start: " + sim->stderr_text());
    }
  }
  [[nodiscard]] std::vector<std::string> env() const { return {"MONITOR_TTY=" + pty.b()}; }
};

TEST(SerialCliTest, PollOnceJsonReadsEveryVitalSignOfTheCardioExample) {
  Monitor monitor({"--rate", "10", "--no-faults"});
  const auto result = run_command({kBinary, "poll", "--once", "--json", "-c", kCardio},
                                  monitor.dir.path(), std::chrono::seconds(20), monitor.env());
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  std::map<std::string, nlohmann::json> last;
  for (const auto& j : json_lines(result.out)) {
    EXPECT_EQ(j.at("device"), "bed-12");
    EXPECT_EQ(j.at("quality"), "good") << j.dump();
    last[j.at("point").get<std::string>()] = j;
  }
  ASSERT_EQ(last.size(), 5u) << result.out;
  const auto value = [&](const char* p) { return last.at(p).at("value").get<int>(); };
  EXPECT_GE(value("heart_rate"), 60);
  EXPECT_LE(value("heart_rate"), 100);
  EXPECT_GE(value("spo2"), 94);
  EXPECT_LE(value("spo2"), 99);
  EXPECT_GE(value("respiration_rate"), 12);
  EXPECT_LE(value("respiration_rate"), 20);
  EXPECT_GT(value("bp_systolic"), value("bp_diastolic"));
  EXPECT_EQ(last.at("heart_rate").at("unit"), "bpm");
  EXPECT_EQ(last.at("bp_systolic").at("unit"), "mmHg");
  EXPECT_NE(result.err.find("frames"), std::string::npos) << result.err;  // the health line
}

TEST(SerialCliTest, PollRawShowsFramesAsReceivedWithNoiseAndBadChecksums) {
  // 20 lines/s with faults: in 3 s a wrong checksum (line 11) and noise (line 7) come by.
  Monitor monitor({"--rate", "20"});
  const auto result = run_command({kBinary, "poll", "--raw", "--duration", "3s", "-c", kCardio},
                                  monitor.dir.path(), std::chrono::seconds(20), monitor.env());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string& out = result.out;
  // Text view: each frame quoted and escaped, its verdict after it.
  EXPECT_NE(out.find("bed-12  RAW  \"$HR,"), std::string::npos) << out;
  EXPECT_NE(out.find("\\r\\n\"  ok"), std::string::npos) << out;
  EXPECT_NE(out.find("\\r\\n\"  bad: checksum"), std::string::npos) << out;
  EXPECT_NE(out.find("garbage: discarded"), std::string::npos) << out;
  EXPECT_NE(out.find("heart_rate"), std::string::npos) << "readings are shown too";
  // The health line names the last bad frame, escaped.
  EXPECT_NE(result.err.find("last bad frame \"$HR,"), std::string::npos) << result.err;

  const auto json =
      run_command({kBinary, "poll", "--raw", "--json", "--duration", "2s", "-c", kCardio},
                  monitor.dir.path(), std::chrono::seconds(20), monitor.env());
  ASSERT_EQ(json.exit_code, 0) << json.err;
  int frames = 0;
  for (const auto& j : json_lines(json.out)) {
    if (!j.contains("raw")) continue;
    ++frames;
    EXPECT_EQ(j.at("device"), "bed-12");
    EXPECT_TRUE(j.contains("verdict"));
    if (j.at("verdict") == "ok") {
      const auto raw = j.at("raw").get<std::string>();
      EXPECT_EQ(raw.substr(raw.size() - 4), "\\r\\n") << raw;
    }
  }
  EXPECT_GT(frames, 10);
}

TEST(SerialCliTest, PollOnceOnAMissingPortFailsWithNoConnection) {
  ScratchDir dir;
  const auto result = run_command({kBinary, "poll", "--once", "--json", "-c", kCardio}, dir.path(),
                                  std::chrono::seconds(20),
                                  {"MONITOR_TTY=" + (dir.path() / "no-such-tty").string()});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 5u) << result.out;
  for (const auto& j : lines) {
    EXPECT_EQ(j.at("quality"), "no_connection");
    EXPECT_TRUE(j.at("value").is_null());
  }
}

TEST(SerialCliTest, SimulateRejectsAnUnknownProfile) {
  ScratchDir dir;
  const auto result = run_command(
      {kBinary, "simulate", "serial", "--device", "/dev/null", "--profile", "scale"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("profiles: cardio"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace fieldgate::testing
