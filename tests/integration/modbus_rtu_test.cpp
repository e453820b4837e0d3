// Modbus RTU over a real pty pair (socat): the simulator on one end, fieldgate
// on the other, two unit ids sharing the line like meters on one RS-485 bus.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <mutex>

#include <fmt/format.h>

#include "gateway/scheduler.hpp"
#include "tests/support/gateway_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

std::unique_ptr<sim::ModbusSimServer> rtu_meter(const std::string& tty, int unit_id) {
  sim::RtuServerOptions options;
  options.device = tty;
  options.baud = 19200;
  options.unit_id = unit_id;
  return sim::ModbusSimServer::rtu(options);
}

std::string bus_config(const std::string& tty, const std::string& devices) {
  return fmt::format(R"(
[[buses]]
name = "rs485-1"
port = "{}"
baud = 19200
parity = "none"
{})",
                     tty, devices);
}

constexpr const char* kLiveMeter = R"(
[[devices]]
name = "live"
driver = "modbus-rtu"
bus = "rs485-1"
unit_id = 1
poll_interval = "100ms"
response_timeout = "500ms"
[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
[[devices.points]]
name = "serial_number"
kind = "holding"
address = 20
type = "string"
count = 8
)";

constexpr const char* kDeadMeter = R"(
[[devices]]
name = "dead"
driver = "modbus-rtu"
bus = "rs485-1"
unit_id = 7
poll_interval = "200ms"
response_timeout = "600ms"
retries = 0
backoff_max = "5s"
[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
)";

TEST(ModbusRtuTest, ReadsTheSimulatedMeterOverAPtyPair) {
  ScratchDir dir;
  PtyPair ptys(dir.path());
  SimThread sim(rtu_meter(ptys.a(), 1));
  InlineGateway gateway(bus_config(ptys.b(), kLiveMeter));
  const auto r = gateway.read_all();
  EXPECT_GE(value_of<double>(r, "live/voltage_l1"), 220.0);
  EXPECT_LE(value_of<double>(r, "live/voltage_l1"), 240.0);
  EXPECT_EQ(value_of<std::string>(r, "live/serial_number"), "FG-PM-000042");
  EXPECT_EQ(sim.server().requests_served(), 2u);
}

// A dead unit id on the bus is backed off, so the live one keeps being polled
// at its interval instead of waiting behind the dead one's timeouts.
TEST(ModbusRtuTest, DeadUnitOnTheSameBusDoesNotStarveTheLiveOne) {
  ScratchDir dir;
  PtyPair ptys(dir.path());
  SimThread sim(rtu_meter(ptys.a(), 1));
  InlineGateway gateway(bus_config(ptys.b(), std::string(kLiveMeter) + kDeadMeter));

  std::mutex mutex;
  int live_good = 0;
  int dead_attempts = 0;
  int dead_good = 0;
  gateway::Scheduler scheduler(gateway.config(), gateway.take_drivers(), [&](Batch&& batch) {
    std::lock_guard lock(mutex);
    for (const auto& reading : batch) {
      if (reading.point != "voltage_l1") continue;
      if (reading.device == "live" && reading.quality == Quality::kGood) ++live_good;
      if (reading.device == "dead") {
        ++dead_attempts;
        if (reading.quality == Quality::kGood) ++dead_good;
      }
    }
  });
  ASSERT_EQ(scheduler.channel_count(), 1u);  // both devices share one worker: one bus
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::seconds(6));
  scheduler.stop();

  // Without back-off every cycle would wait 600 ms for the dead unit, so the
  // live one (every 100 ms) would get about 10 polls in 6 s. With back-off
  // (0.6, 1.2, 2.4 s after each failure) the dead one is tried 3 times
  // (t = 0, 1.2, 3.0 s) and the live one gets about 40 of its 60 slots. The
  // bounds sit far from both, for a slow or loaded machine.
  std::lock_guard lock(mutex);
  EXPECT_EQ(dead_good, 0);
  EXPECT_GE(dead_attempts, 2);
  EXPECT_LE(dead_attempts, 5);
  EXPECT_GE(live_good, 25) << "live meter starved by the dead one";

  const auto status = scheduler.status();
  ASSERT_EQ(status.size(), 2u);
  const auto& dead = status[0].device == "dead" ? status[0] : status[1];
  const auto& live = status[0].device == "live" ? status[0] : status[1];
  EXPECT_GE(dead.health.consecutive_failures, 2);
  EXPECT_GE(dead.health.timeouts, 2u);
  EXPECT_NE(dead.health.last_error.find("timed out"), std::string::npos) << dead.health.last_error;
  EXPECT_EQ(dead.health.last_good_ms, 0);
  EXPECT_EQ(live.health.consecutive_failures, 0);
  EXPECT_EQ(live.health.timeouts, 0u);
}

// Writes on an RS-485 line go through the worker that polls it: queued, run
// between two polls, never overlapping a transaction (a second master would
// garble frames: timeouts, CRC errors, answers taken for the wrong request).
TEST(ModbusRtuTest, WritesInterleaveWithPollingOnTheSameBus) {
  ScratchDir dir;
  PtyPair ptys(dir.path());
  SimThread sim(rtu_meter(ptys.a(), 1));
  InlineGateway gateway(bus_config(ptys.b(), std::string(kLiveMeter) + R"(
[[devices.points]]
name = "setpoint"
kind = "holding"
address = 15
type = "int16"
scale = 0.1
writable = true
)"));

  std::mutex mutex;
  std::string events;  // "P" per poll, "W" per write, in the worker's order
  gateway::Scheduler scheduler(gateway.config(), gateway.take_drivers(), [&](Batch&& batch) {
    std::lock_guard lock(mutex);
    for (const auto& r : batch) EXPECT_EQ(r.quality, Quality::kGood) << r.point << ": " << r.error;
    events += 'P';
  });
  scheduler.start();
  constexpr int kWrites = 8;
  for (int i = 0; i < kWrites; ++i) {
    auto done =
        std::make_shared<std::promise<std::pair<gateway::CommandOutcome, drivers::WriteResult>>>();
    auto result = done->get_future();
    gateway::WriteCommand command;
    command.device = "live";
    command.point = "setpoint";
    command.value = 20.0 + i;
    command.deadline = drivers::Clock::now() + std::chrono::seconds(30);
    command.done = [&, done](gateway::CommandOutcome outcome, const drivers::WriteResult& written) {
      {
        std::lock_guard lock(mutex);
        events += 'W';
      }
      done->set_value({outcome, written});
    };
    ASSERT_EQ(scheduler.submit(std::move(command)), gateway::Submitted::kQueued);
    ASSERT_EQ(result.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    const auto [outcome, written] = result.get();
    EXPECT_EQ(outcome, gateway::CommandOutcome::kExecuted);
    EXPECT_EQ(written.status, drivers::WriteStatus::kOk) << written.error;
    EXPECT_EQ(written.readback, Value(20.0 + i));
    // Let a poll or two pass before the next write.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  scheduler.stop();

  std::lock_guard lock(mutex);
  const auto first_w = events.find('W');
  const auto last_w = events.rfind('W');
  ASSERT_NE(first_w, std::string::npos);
  EXPECT_NE(events.substr(first_w, last_w - first_w).find('P'), std::string::npos)
      << "polling stopped while writes were going on: " << events;
  const auto status = scheduler.status();
  ASSERT_EQ(status.size(), 1u);
  const auto& health = status[0].health;
  // One master: every request was answered, none timed out or was garbled.
  EXPECT_EQ(health.timeouts, 0u);
  EXPECT_EQ(health.bad_responses, 0u);
  EXPECT_EQ(health.requests, sim.server().requests_served());
  const auto polls = static_cast<std::uint64_t>(std::count(events.begin(), events.end(), 'P'));
  // Each poll: input + holding (the setpoint joins serial_number's request); each write: 2.
  EXPECT_EQ(health.requests, polls * 2 + kWrites * 2);
}

}  // namespace
}  // namespace fieldgate::testing
