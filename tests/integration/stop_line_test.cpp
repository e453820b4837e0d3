// The line `fieldgate run` logs when it stops says, in words, how many
// readings stay in the buffer for the next start, and that number is what the
// buffer holds afterwards (`fieldgate queue stats`).
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

TEST(StopLineTest, SaysHowManyReadingsStayBufferedAndTheBufferAgrees) {
  ScratchDir dir;
  auto meter = start_peer({kBinary, "simulate", "modbus-tcp", "--port", "0"}, dir.path(),
                          "simulating", std::chrono::seconds(10));
  const auto out = meter->stdout_text();
  const int meter_port = std::stoi(out.substr(out.rfind(':') + 1));
  Mosquitto broker(dir.path());
  Subscriber sub(broker.uri(), "fieldgate/gw/meter/#", 1);
  ASSERT_TRUE(sub.wait_connected(std::chrono::seconds(10)));

  const auto db = (dir.path() / "buffer.db").string();
  const auto config = dir.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
[mqtt]
broker = "{}"
qos = 1
drain_timeout = "2s"
reconnect_min = "100ms"
reconnect_max = "500ms"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "100ms"
[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
)",
                                                            db, broker.uri(), meter_port));
  ChildProcess run({kBinary, "run", "-c", config.string()}, dir.path());
  ASSERT_TRUE(sub.wait_for(3, std::chrono::seconds(20))) << run.stderr_text();
  // With the broker gone, polling goes on into the buffer: the stop leaves
  // readings there.
  broker.kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  ::kill(run.pid(), SIGTERM);
  ASSERT_EQ(run.wait_exit(std::chrono::seconds(15)), 0) << run.stderr_text();

  const auto log = run.stderr_text();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      log, m,
      std::regex(R"(at stop: 1/1 devices up; (\d+) delivered since start; (\d+) readings not yet )"
                 R"(delivered stay in the buffer \(\d+ kB, oldest \d+s\) for the next start; )"
                 R"((\d+) dropped since the buffer was created)")))
      << log;
  const auto delivered_said = std::stoull(m[1]);
  const auto buffered_said = std::stoull(m[2]);
  EXPECT_EQ(std::stoull(m[3]), 0u);

  const auto stats = run_command({kBinary, "queue", "stats", "--json", "--db", db}, dir.path());
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const auto j = nlohmann::json::parse(stats.out);
  EXPECT_EQ(buffered_said, j.at("rows").get<std::uint64_t>());
  EXPECT_GT(buffered_said, 0u);  // polled while the broker was gone
  // Everything accepted is either delivered or still buffered.
  EXPECT_EQ(delivered_said + buffered_said, j.at("next_seq").get<std::uint64_t>() - 1);
}

}  // namespace
}  // namespace fieldgate::testing
