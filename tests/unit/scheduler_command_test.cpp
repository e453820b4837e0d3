// The scheduler's write queue with a fake driver whose poll the test holds:
// writes run on the worker that owns the device, between polls; one that
// waited past its deadline expires without reaching the driver; pending ones
// are cancelled, each answered once, when the scheduler stops.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

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
  Clock::time_point next_due() const noexcept override { return next_; }
  Batch poll(Clock::time_point now, bool) override {
    next_ = now + milliseconds(10);
    std::unique_lock lock(mutex_);
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
    write_thread_ = std::this_thread::get_id();
    last_point_ = point;
    return {drivers::WriteStatus::kOk, Quality::kGood, {}, value};
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
  std::mutex mutex_;
  std::condition_variable cv_;
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
                              bool* accepted = nullptr) {
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
    const bool ok = scheduler->submit(std::move(command));
    if (accepted != nullptr) *accepted = ok;
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

  bool accepted = true;
  (void)rig.submit(Clock::now() + std::chrono::seconds(30), "d", &accepted);
  EXPECT_FALSE(accepted) << "a stopped scheduler must refuse, not queue forever";
}

TEST(SchedulerCommandTest, UnknownDeviceIsRefused) {
  Rig rig;
  rig.scheduler->start();
  bool accepted = true;
  (void)rig.submit(Clock::now() + std::chrono::seconds(30), "nope", &accepted);
  EXPECT_FALSE(accepted);
  rig.scheduler->stop();
}

}  // namespace
}  // namespace fieldgate::gateway
