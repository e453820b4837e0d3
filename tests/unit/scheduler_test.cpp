// The scheduler with fake drivers (unit test of one class): channels get their
// own workers, a failing device is backed off, a dead channel does not hold up
// another one.
#include "gateway/scheduler.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace fieldgate::gateway {
namespace {

using drivers::Clock;

/// A driver that answers every poll at once, or blocks for `stall` and fails
/// (or, with `stall_answers`, blocks for `stall` and then answers: a slow device).
class FakeDriver final : public drivers::Driver {
 public:
  FakeDriver(std::string device, std::string channel, std::chrono::milliseconds interval,
             std::chrono::milliseconds stall = {}, bool stall_answers = false)
      : device_(std::move(device)),
        channel_(std::move(channel)),
        interval_(interval),
        stall_(stall),
        stall_answers_(stall_answers) {}

  const std::string& device() const noexcept override { return device_; }
  const std::string& channel() const noexcept override { return channel_; }
  Clock::time_point next_due() const noexcept override { return next_; }
  Batch poll(Clock::time_point now, bool) override {
    next_ = now + interval_;
    ++health_.polls;
    if (stall_.count() > 0) std::this_thread::sleep_for(stall_);
    if (stall_.count() > 0 && !stall_answers_) {
      ++health_.consecutive_failures;
      health_.last_error = "timed out";
      return {Reading{device_, "p", std::monostate{}, "", Quality::kTimeout, 0, 0, "timed out"}};
    }
    return {Reading{device_, "p", std::int64_t{1}, "", Quality::kGood, 0, 0, {}}};
  }
  void close() noexcept override { closed_ = true; }
  const drivers::DeviceHealth& health() const noexcept override { return health_; }
  std::vector<std::string> describe_plan() const override { return {}; }
  std::size_t max_requests_per_poll() const override { return max_requests; }

  std::atomic<bool>& closed() { return closed_; }

  std::size_t max_requests = 0;  // what it says its next poll may send

 private:
  std::string device_;
  std::string channel_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds stall_;
  bool stall_answers_;
  Clock::time_point next_{};
  drivers::DeviceHealth health_;
  std::atomic<bool> closed_{false};
};

config::Config config_for(const std::vector<std::string>& names, std::chrono::milliseconds interval,
                          std::chrono::milliseconds timeout) {
  config::Config config;
  for (const auto& name : names) {
    config::DeviceConfig device;
    device.name = name;
    device.poll_interval = interval;
    device.response_timeout = timeout;
    device.retries = 0;
    config.devices.push_back(device);
  }
  return config;
}

struct Counts {
  std::mutex mutex;
  std::map<std::string, int> by_device;
  void add(const Batch& batch) {
    std::lock_guard lock(mutex);
    for (const auto& r : batch) ++by_device[r.device];
  }
  int of(const std::string& device) {
    std::lock_guard lock(mutex);
    return by_device[device];
  }
};

TEST(SchedulerTest, OneWorkerPerChannel) {
  const auto config =
      config_for({"a", "b", "c"}, std::chrono::milliseconds(50), std::chrono::milliseconds(50));
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::make_unique<FakeDriver>("a", "bus-1", std::chrono::milliseconds(50)));
  drivers.push_back(std::make_unique<FakeDriver>("b", "bus-1", std::chrono::milliseconds(50)));
  drivers.push_back(
      std::make_unique<FakeDriver>("c", "tcp:10.0.0.1:502", std::chrono::milliseconds(50)));
  Scheduler scheduler(config, std::move(drivers), [](Batch&&) {});
  EXPECT_EQ(scheduler.channel_count(), 2u);
  EXPECT_EQ(scheduler.status().size(), 3u);
}

// What top -H shows: a worker of one device is named after the device, one
// of several after its channel (cut to Linux's 15 bytes).
TEST(SchedulerTest, EachWorkerThreadIsNamedAfterItsDeviceOrItsChannel) {
  const auto config = config_for({"a", "b", "meter-kitchen-east"}, std::chrono::milliseconds(20),
                                 std::chrono::milliseconds(50));
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(
      std::make_unique<FakeDriver>("a", "modbus-rtu:bus1", std::chrono::milliseconds(20)));
  drivers.push_back(
      std::make_unique<FakeDriver>("b", "modbus-rtu:bus1", std::chrono::milliseconds(20)));
  drivers.push_back(std::make_unique<FakeDriver>("meter-kitchen-east", "modbus-tcp:10.0.0.1:502",
                                                 std::chrono::milliseconds(20)));
  std::mutex mutex;
  std::map<std::string, std::string> thread_of;  // device → its worker's name
  Scheduler scheduler(config, std::move(drivers), [&](Batch&& b) {
    std::array<char, 16> name{};
    ASSERT_EQ(::pthread_getname_np(::pthread_self(), name.data(), name.size()), 0);
    std::lock_guard lock(mutex);
    thread_of[b.front().device] = name.data();
  });
  scheduler.start();
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(mutex);
      if (thread_of.size() == 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  scheduler.stop();
  std::lock_guard lock(mutex);
  EXPECT_EQ(thread_of["a"], "poll:bus1");
  EXPECT_EQ(thread_of["b"], "poll:bus1");
  EXPECT_EQ(thread_of["meter-kitchen-east"], "poll:meter-kitc");
}

TEST(SchedulerTest, PollOnceReadsEveryDeviceExactlyOnce) {
  const auto config =
      config_for({"a", "b", "c"}, std::chrono::seconds(10), std::chrono::milliseconds(50));
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::make_unique<FakeDriver>("a", "bus-1", std::chrono::seconds(10)));
  drivers.push_back(std::make_unique<FakeDriver>("b", "bus-1", std::chrono::seconds(10)));
  drivers.push_back(std::make_unique<FakeDriver>("c", "bus-2", std::chrono::seconds(10)));
  Counts counts;
  Scheduler scheduler(config, std::move(drivers), [&](Batch&& b) { counts.add(b); });
  scheduler.poll_once();
  EXPECT_EQ(counts.of("a"), 1);
  EXPECT_EQ(counts.of("b"), 1);
  EXPECT_EQ(counts.of("c"), 1);
}

TEST(SchedulerTest, StalledChannelDoesNotHoldUpAnotherChannel) {
  // "stuck" blocks its worker for 400 ms per poll; "free" on another channel
  // must keep its 20 ms cadence meanwhile.
  const auto config =
      config_for({"stuck", "free"}, std::chrono::milliseconds(20), std::chrono::milliseconds(400));
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::make_unique<FakeDriver>("stuck", "bus-1", std::chrono::milliseconds(20),
                                                 std::chrono::milliseconds(400)));
  drivers.push_back(std::make_unique<FakeDriver>("free", "bus-2", std::chrono::milliseconds(20)));
  Counts counts;
  Scheduler scheduler(config, std::move(drivers), [&](Batch&& b) { counts.add(b); });
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  scheduler.stop();
  // ~50 slots for "free" in 1 s; were it behind "stuck" it would get ≤ 3.
  EXPECT_GE(counts.of("free"), 15);
  EXPECT_LE(counts.of("stuck"), 3);
}

TEST(SchedulerTest, FailingDeviceIsReportedAsBackingOff) {
  const auto config =
      config_for({"dead"}, std::chrono::milliseconds(10), std::chrono::milliseconds(10));
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::make_unique<FakeDriver>("dead", "bus-1", std::chrono::milliseconds(10),
                                                 std::chrono::milliseconds(10)));
  Counts counts;
  Scheduler scheduler(config, std::move(drivers), [&](Batch&& b) { counts.add(b); });
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  scheduler.stop();
  // Back-off 10, 20, 40, 80, 160, 320 ms after each 10 ms failure: about 6
  // polls in 700 ms instead of 35 without it.
  EXPECT_GE(counts.of("dead"), 3);
  EXPECT_LE(counts.of("dead"), 12);
  const auto status = scheduler.status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_TRUE(status[0].backing_off);
  EXPECT_EQ(status[0].health.last_error, "timed out");
}

TEST(SchedulerTest, AWorkerStuckInAPollFallsBehindItsHeartbeat) {
  // The device's poll may take 100 ms (timeout × one attempt) but hangs for
  // 3 s: the worker is then late on its promise, which is what stops the
  // systemd watchdog. A worker waiting for its next poll is never late.
  const auto config =
      config_for({"hung", "fine"}, std::chrono::seconds(60), std::chrono::milliseconds(100));
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::make_unique<FakeDriver>("hung", "bus-1", std::chrono::seconds(60),
                                                 std::chrono::milliseconds(3000)));
  drivers.push_back(std::make_unique<FakeDriver>("fine", "bus-2", std::chrono::seconds(60)));
  Scheduler scheduler(config, std::move(drivers), [](Batch&&) {});
  const auto progress = scheduler.progress();
  ASSERT_EQ(progress.size(), 2u);
  const auto late = [&](const std::string& channel) {
    for (const auto& p : progress) {
      if (p.channel == channel) return p.heartbeat->overdue(Clock::now());
    }
    ADD_FAILURE() << "no worker for " << channel;
    return Clock::duration::zero();
  };
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_GT(late("bus-1"), std::chrono::milliseconds(700)) << "1.4 s into a 100 ms poll";
  EXPECT_LE(late("bus-2"), Clock::duration::zero()) << "idle until its next poll in 60 s";
  // The poll returns at 3 s; from then on the worker waits, on time again.
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  while (late("bus-1") > Clock::duration::zero() && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_LE(late("bus-1"), Clock::duration::zero()) << "still late after the poll returned";
  scheduler.stop();
  for (const auto& p : progress) {
    EXPECT_LE(p.heartbeat->overdue(Clock::now() + std::chrono::hours(1)), Clock::duration::zero())
        << p.channel << ": a stopped worker is never stalled";
  }
}

TEST(SchedulerTest, APollThatMaySendManyRequestsIsGivenTimeForThem) {
  // A driver discovering its device (SunSpec's walk) sends dozens of requests
  // in its first poll: 1.5 s of answers at 100 ms each is no stall when it
  // said up to 30 requests (a 3.1 s promise), where one request would be.
  const auto config =
      config_for({"walker"}, std::chrono::seconds(60), std::chrono::milliseconds(100));
  auto driver = std::make_unique<FakeDriver>("walker", "bus-1", std::chrono::seconds(60),
                                             std::chrono::milliseconds(1500), true);
  driver->max_requests = 30;
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::move(driver));
  Scheduler scheduler(config, std::move(drivers), [](Batch&&) {});
  const auto progress = scheduler.progress();
  ASSERT_EQ(progress.size(), 1u);
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_LE(progress[0].heartbeat->overdue(Clock::now()), Clock::duration::zero())
      << "1 s into a poll promised to take up to 3.1 s";
  scheduler.stop();
}

TEST(SchedulerTest, SkippedTicksCountWholeTicksOfLateness) {
  using std::chrono::milliseconds;
  const auto due = Clock::time_point{} + std::chrono::hours(1);
  const auto tick = milliseconds(100);
  EXPECT_EQ(skipped_ticks(due, due, tick), 0u) << "on time";
  EXPECT_EQ(skipped_ticks(due, due - milliseconds(5), tick), 0u) << "early";
  EXPECT_EQ(skipped_ticks(due, due + milliseconds(99), tick), 0u) << "late, within its tick";
  EXPECT_EQ(skipped_ticks(due, due + milliseconds(100), tick), 1u) << "the next tick came";
  EXPECT_EQ(skipped_ticks(due, due + milliseconds(350), tick), 3u);
  EXPECT_EQ(skipped_ticks(Clock::time_point{}, due, tick), 0u) << "never polled yet";
  EXPECT_EQ(skipped_ticks(due, due + milliseconds(350), Clock::duration::zero()), 0u);
}

TEST(SchedulerTest, APollSlowerThanItsIntervalCountsSkippedTicks) {
  // "slow" is due every 20 ms but each poll takes 100 ms (and succeeds): each
  // next poll starts about 80 ms late, 4 ticks skipped per poll. "idle", on
  // its own channel and due every 10 s, is never late.
  auto config =
      config_for({"slow", "idle"}, std::chrono::milliseconds(20), std::chrono::milliseconds(500));
  config.devices[1].poll_interval = std::chrono::seconds(10);
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::make_unique<FakeDriver>("slow", "bus-1", std::chrono::milliseconds(20),
                                                 std::chrono::milliseconds(100), true));
  drivers.push_back(std::make_unique<FakeDriver>("idle", "bus-2", std::chrono::seconds(10)));
  Counts counts;
  Scheduler scheduler(config, std::move(drivers), [&](Batch&& b) { counts.add(b); });
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(650));
  scheduler.stop();
  const auto status = scheduler.status();
  ASSERT_EQ(status.size(), 2u);
  const auto polls = counts.of("slow");
  ASSERT_GE(polls, 3);
  // The first poll is on time; every later one at least 3 ticks late (80 ms
  // of a 20 ms tick is 4; a slow wake-up only adds).
  EXPECT_GE(status[0].skipped_polls, 3u * static_cast<std::uint64_t>(polls - 1));
  EXPECT_FALSE(status[0].backing_off);
  EXPECT_EQ(status[1].skipped_polls, 0u);
}

TEST(SchedulerTest, ABackedOffDeviceDoesNotCountItsBackOffAsSkipped) {
  // The back-off is the scheduler's choice, not a busy channel. A failing
  // device due every 100 ms, backed off 100, 200, 400 ms, is polled at about
  // 0, 102, 304 and 708 ms: measured from its driver's due times that is 1
  // and 3 ticks behind, measured from the end of each back-off none.
  const auto config =
      config_for({"dead"}, std::chrono::milliseconds(100), std::chrono::milliseconds(100));
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  drivers.push_back(std::make_unique<FakeDriver>("dead", "bus-1", std::chrono::milliseconds(100),
                                                 std::chrono::milliseconds(2)));
  Scheduler scheduler(config, std::move(drivers), [](Batch&&) {});
  scheduler.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  scheduler.stop();
  const auto status = scheduler.status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_TRUE(status[0].backing_off);
  // A worker woken a whole tick late on a loaded machine may add one.
  EXPECT_LE(status[0].skipped_polls, 1u);
}

}  // namespace
}  // namespace fieldgate::gateway
