// The scheduler's write queue with a fake driver whose poll the test holds:
// writes run on the worker that owns the device, between polls; one that
// waited past its deadline expires without reaching the driver; pending ones
// are cancelled, each answered once, when the scheduler stops; the queue is
// bounded (busy beyond it) and a flood of writes never starves the polls.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/scheduler.hpp"

namespace fieldgate::gateway {
namespace {

using drivers::Clock;
using std::chrono::milliseconds;

/// Polls block while the test holds the gate; writes are counted with the
/// thread that made them.
class GatedDriver final : public drivers::Driver {
 public:
  explicit GatedDriver(std::string device) : device_(std::move(device)) {}

  const std::string& device() const noexcept override { return device_; }
  const std::string& channel() const noexcept override { return channel_; }
  Clock::time_point next_due() const noexcept override {
    std::lock_guard lock(mutex_);
    return next_;
  }
  Batch poll(Clock::time_point now, bool) override {
    std::unique_lock lock(mutex_);
    next_ = now + interval_;
    events_ += 'P';
    poll_thread_ = std::this_thread::get_id();
    in_poll_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    in_poll_ = false;
    ++polls_;
    cv_.notify_all();
    return {Reading{device_, "p", std::int64_t{1}, "", Quality::kGood, 0, 0, {}}};
  }
  void close() noexcept override {}
  const drivers::DeviceHealth& health() const noexcept override { return health_; }
  std::vector<std::string> describe_plan() const override { return {}; }
  drivers::WriteResult write(const std::string& point, const Value& value) override {
    std::lock_guard lock(mutex_);
    ++writes_;
    events_ += 'W';
    write_thread_ = std::this_thread::get_id();
    last_point_ = point;
    return {drivers::WriteStatus::kOk, Quality::kGood, {}, value};
  }

  /// 0: a poll is always due, as on a bus that is behind schedule.
  void set_interval(milliseconds interval) {
    std::lock_guard lock(mutex_);
    interval_ = interval;
  }
  /// 'P' for each poll, 'W' for each write, in order.
  std::string events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  void set_gate(bool open) {
    std::lock_guard lock(mutex_);
    open_ = open;
    cv_.notify_all();
  }
  bool wait_in_poll() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return in_poll_; });
  }
  bool wait_polled() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return polls_ > 0; });
  }
  int writes() {
    std::lock_guard lock(mutex_);
    return writes_;
  }
  int polls() {
    std::lock_guard lock(mutex_);
    return polls_;
  }
  bool wrote_on_poll_thread() {
    std::lock_guard lock(mutex_);
    return writes_ > 0 && write_thread_ == poll_thread_;
  }

 private:
  std::string device_;
  std::string channel_ = "bus-1";
  Clock::time_point next_{};
  drivers::DeviceHealth health_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  milliseconds interval_{10};
  std::string events_;
  bool open_ = true;
  bool in_poll_ = false;
  int polls_ = 0;
  int writes_ = 0;
  std::thread::id poll_thread_;
  std::thread::id write_thread_;
  std::string last_point_;
};

struct Outcome {
  CommandOutcome outcome;
  drivers::WriteResult result;
};

struct Rig {
  Rig() {
    config::DeviceConfig device;
    device.name = "d";
    config.devices.push_back(device);
    auto owned = std::make_unique<GatedDriver>("d");
    driver = owned.get();
    std::vector<std::unique_ptr<drivers::Driver>> drivers;
    drivers.push_back(std::move(owned));
    scheduler = std::make_unique<Scheduler>(config, std::move(drivers), [](Batch&&) {});
  }

  // Submits a write whose outcome arrives in the returned future.
  std::future<Outcome> submit(Clock::time_point deadline, std::string device = "d",
                              Submitted* submitted = nullptr) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto future = promise->get_future();
    WriteCommand command;
    command.device = std::move(device);
    command.point = "p";
    command.value = std::int64_t{5};
    command.deadline = deadline;
    command.done = [promise](CommandOutcome outcome, const drivers::WriteResult& result) {
      promise->set_value({outcome, result});
    };
    const Submitted result = scheduler->submit(std::move(command));
    if (submitted != nullptr) *submitted = result;
    return future;
  }

  config::Config config;
  GatedDriver* driver = nullptr;
  std::unique_ptr<Scheduler> scheduler;
};

TEST(SchedulerCommandTest, AWriteRunsOnTheWorkerThatPollsTheDevice) {
  Rig rig;
  rig.scheduler->start();
  ASSERT_TRUE(rig.driver->wait_polled());  // the worker has polled: its thread is known
  auto done = rig.submit(Clock::now() + std::chrono::seconds(30));
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const Outcome o = done.get();
  EXPECT_EQ(o.outcome, CommandOutcome::kExecuted);
  EXPECT_EQ(o.result.readback, Value(std::int64_t{5}));
  EXPECT_EQ(rig.driver->writes(), 1);
  rig.scheduler->stop();
  EXPECT_TRUE(rig.driver->wrote_on_poll_thread());
}

TEST(SchedulerCommandTest, AWriteWaitsForThePollInProgress) {
  Rig rig;
  rig.driver->set_gate(false);
  rig.scheduler->start();
  ASSERT_TRUE(rig.driver->wait_in_poll());
  auto done = rig.submit(Clock::now() + std::chrono::seconds(30));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(rig.driver->writes(), 0) << "a write overlapped a poll";
  rig.driver->set_gate(true);
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(done.get().outcome, CommandOutcome::kExecuted);
  EXPECT_GE(rig.driver->polls(), 1);
  rig.scheduler->stop();
}

TEST(SchedulerCommandTest, ACommandThatWaitedPastItsDeadlineExpiresUnexecuted) {
  Rig rig;
  rig.driver->set_gate(false);
  rig.scheduler->start();
  ASSERT_TRUE(rig.driver->wait_in_poll());
  auto done = rig.submit(Clock::now() + milliseconds(1));
  std::this_thread::sleep_for(milliseconds(50));  // the deadline is past for certain
  rig.driver->set_gate(true);
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(done.get().outcome, CommandOutcome::kExpired);
  rig.scheduler->stop();
  EXPECT_EQ(rig.driver->writes(), 0);
}

TEST(SchedulerCommandTest, PendingCommandsAreCancelledWhenTheSchedulerStops) {
  Rig rig;
  rig.driver->set_gate(false);
  rig.scheduler->start();
  ASSERT_TRUE(rig.driver->wait_in_poll());
  auto done = rig.submit(Clock::now() + std::chrono::seconds(30));
  std::thread stopper([&] { rig.scheduler->stop(); });
  // stop() asks the worker to end before it looks at the queue again.
  std::this_thread::sleep_for(milliseconds(100));
  rig.driver->set_gate(true);
  stopper.join();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(done.get().outcome, CommandOutcome::kCancelled);
  EXPECT_EQ(rig.driver->writes(), 0);

  Submitted submitted = Submitted::kQueued;
  (void)rig.submit(Clock::now() + std::chrono::seconds(30), "d", &submitted);
  EXPECT_EQ(submitted, Submitted::kNoWorker)
      << "a stopped scheduler must refuse, not queue forever";
}

TEST(SchedulerCommandTest, UnknownDeviceIsRefused) {
  Rig rig;
  rig.scheduler->start();
  Submitted submitted = Submitted::kQueued;
  (void)rig.submit(Clock::now() + std::chrono::seconds(30), "nope", &submitted);
  EXPECT_EQ(submitted, Submitted::kNoWorker);
  rig.scheduler->stop();
}

TEST(SchedulerCommandTest, AFullQueueAnswersBusyAtOnce) {
  // Found in issue 14: the queue was unbounded; 2,000 writes in 5 s to an RTU
  // device stalled its polling for 10-15 s.
  Rig rig;
  rig.driver->set_gate(false);
  rig.scheduler->start();
  ASSERT_TRUE(rig.driver->wait_in_poll());
  std::vector<std::future<Outcome>> queued;
  std::size_t busy = 0;
  for (int i = 0; i < 100; ++i) {
    Submitted submitted = Submitted::kNoWorker;
    auto done = rig.submit(Clock::now() + std::chrono::seconds(30), "d", &submitted);
    if (submitted == Submitted::kQueued) {
      queued.push_back(std::move(done));
    } else {
      EXPECT_EQ(submitted, Submitted::kBusy);
      ++busy;
    }
  }
  EXPECT_EQ(queued.size(), kMaxQueuedWrites);
  EXPECT_EQ(busy, 100 - kMaxQueuedWrites);
  rig.driver->set_gate(true);
  for (auto& done : queued) {
    ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(done.get().outcome, CommandOutcome::kExecuted);
  }
  rig.scheduler->stop();
  EXPECT_EQ(rig.driver->writes(), static_cast<int>(kMaxQueuedWrites))
      << "a write answered busy must never reach the bus";
}

TEST(SchedulerCommandTest, WritesWaitingForTheBusNeverStarveItsPolls) {
  Rig rig;
  rig.driver->set_interval(milliseconds(0));  // a poll is always due
  rig.driver->set_gate(false);
  rig.scheduler->start();
  ASSERT_TRUE(rig.driver->wait_in_poll());
  std::vector<std::future<Outcome>> queued;
  for (std::size_t i = 0; i < kMaxQueuedWrites; ++i) {
    queued.push_back(rig.submit(Clock::now() + std::chrono::seconds(30)));
  }
  rig.driver->set_gate(true);
  for (auto& done : queued) {
    ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(done.get().outcome, CommandOutcome::kExecuted);
  }
  rig.scheduler->stop();
  // Between two polls, at most kWritesBetweenPolls writes: the polls keep
  // their pace however many writes wait.
  const std::string events = rig.driver->events();
  std::size_t run = 0;
  std::size_t longest = 0;
  for (const char e : events) {
    run = e == 'W' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  EXPECT_EQ(longest, kWritesBetweenPolls) << events;
  EXPECT_GE(std::count(events.begin(), events.end(), 'P'),
            static_cast<std::ptrdiff_t>(kMaxQueuedWrites / kWritesBetweenPolls))
      << events;
}

}  // namespace
}  // namespace fieldgate::gateway
