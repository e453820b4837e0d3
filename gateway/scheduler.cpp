#include "gateway/scheduler.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"
#include "gateway/backoff.hpp"

namespace fieldgate::gateway {

using drivers::Clock;

class Scheduler::Worker {
 public:
  Worker(std::string channel, BatchSink sink, PollObserver observer)
      : channel_(std::move(channel)), sink_(std::move(sink)), observer_(std::move(observer)) {}
  ~Worker() { stop(); }

  void add(std::unique_ptr<drivers::Driver> driver, const config::DeviceConfig& device) {
    // Back-off starts at what a failed poll costs the channel (every attempt
    // timing out), or the poll interval if longer: a dead device then takes at
    // most half the bus time after its first failure, a quarter after its second...
    const auto attempt_cost = device.response_timeout * (device.retries + 1);
    // The device's tick, for counting skipped polls: its fastest point group.
    auto tick = device.poll_interval;
    for (const auto& point : device.points) tick = std::min(tick, device.interval_of(point));
    slots_.push_back(Slot{std::move(driver),
                          std::max(device.poll_interval, attempt_cost),
                          device.backoff_max,
                          {},
                          attempt_cost,
                          tick});
    std::lock_guard lock(status_mutex_);
    status_.push_back(DeviceStatus{slots_.back().driver->device(), channel_, {}, false});
  }

  void start() {
    stop_requested_ = false;
    heartbeat_.expect_within(std::chrono::seconds(1));
    {
      std::lock_guard lock(wake_mutex_);
      accepting_ = true;
    }
    // The name is made here: nothing on the new thread may throw (bad_alloc).
    thread_ = std::thread([this, name = thread_label()] {
      name_this_thread(name);
      run();
    });
  }

  void stop() {
    std::deque<WriteCommand> cancelled;
    {
      std::lock_guard lock(wake_mutex_);
      stop_requested_ = true;
      accepting_ = false;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard lock(wake_mutex_);
      cancelled.swap(commands_);
    }
    for (auto& command : cancelled) command.done(CommandOutcome::kCancelled, {});
    heartbeat_.clear();
    for (auto& slot : slots_) slot.driver->close();
  }

  Submitted submit(WriteCommand command) {
    {
      std::lock_guard lock(wake_mutex_);
      if (!accepting_) return Submitted::kNoWorker;
      if (commands_.size() >= kMaxQueuedWrites) return Submitted::kBusy;
      commands_.push_back(std::move(command));
    }
    wake_.notify_all();
    return Submitted::kQueued;
  }

  void poll_once() {
    for (std::size_t i = 0; i < slots_.size(); ++i) poll_slot(i, Clock::now(), true);
  }

  [[nodiscard]] const std::string& channel() const noexcept { return channel_; }

  /// Its thread's name: "poll:" and its device, or for a channel of several
  /// (an RTU bus, a TCP gateway to one) what follows the driver's name in
  /// the channel ("modbus-rtu:bus1" → "poll:bus1").
  [[nodiscard]] std::string thread_label() const {
    if (slots_.size() == 1) return "poll:" + slots_.front().driver->device();
    const auto colon = channel_.find(':');
    return "poll:" + (colon == std::string::npos ? channel_ : channel_.substr(colon + 1));
  }
  [[nodiscard]] const Heartbeat& heartbeat() const noexcept { return heartbeat_; }

  void append_status(std::vector<DeviceStatus>& out) const {
    std::lock_guard lock(status_mutex_);
    out.insert(out.end(), status_.begin(), status_.end());
  }

 private:
  struct Slot {
    std::unique_ptr<drivers::Driver> driver;
    config::Duration backoff_base;
    config::Duration backoff_max;
    Clock::time_point not_before;   // back-off: no poll before this
    config::Duration attempt_cost;  // a request whose every attempt times out
    config::Duration tick;          // the shortest interval of its point groups
  };

  // The longest a poll may take when every request times out: the bound this
  // worker promises the watchdog (plus the watchdog's own grace). Asked anew
  // each time: a driver that discovers its device (SunSpec) sends far more
  // requests in its first poll than later.
  [[nodiscard]] static config::Duration poll_bound(const Slot& slot) {
    return slot.attempt_cost * static_cast<int>(slot.driver->max_requests_per_poll() + 1);
  }

  [[nodiscard]] Clock::time_point due(const Slot& slot) const {
    return std::max(slot.driver->next_due(), slot.not_before);
  }

  [[nodiscard]] bool poll_due(Clock::time_point now) const {
    return std::any_of(slots_.begin(), slots_.end(),
                       [&](const Slot& slot) { return due(slot) <= now; });
  }

  void poll_slot(std::size_t index, Clock::time_point now, bool force, std::uint64_t skipped = 0) {
    writes_since_poll_ = 0;
    auto& slot = slots_[index];
    auto batch = slot.driver->poll(now, force);
    const auto& health = slot.driver->health();
    const auto delay =
        backoff_delay(health.consecutive_failures, slot.backoff_base, slot.backoff_max);
    // Counted from the end of the poll: a timeout already took its time. Left
    // unset when not backing off, so that a late poll is measured from when
    // the driver wanted it (skipped_ticks), not from the end of the last one.
    slot.not_before = delay.count() > 0 ? Clock::now() + delay : Clock::time_point{};
    {
      std::lock_guard lock(status_mutex_);
      status_[index].health = health;
      status_[index].backing_off = delay.count() > 0;
      status_[index].skipped_polls += skipped;
    }
    if (observer_) observer_(slot.driver->device(), health);
    if (!batch.empty()) sink_(std::move(batch));
  }

  // Writes queued since the last look, in arrival order, each by this thread
  // between two polls: while a poll is due, only kWritesBetweenPolls of them
  // (the rest wait for the next gap, or expire). One whose deadline passed
  // while it waited is expired.
  void run_commands() {
    while (true) {
      if (writes_since_poll_ >= kWritesBetweenPolls && poll_due(Clock::now())) return;
      WriteCommand command;
      {
        std::lock_guard lock(wake_mutex_);
        if (commands_.empty() || stop_requested_) return;
        command = std::move(commands_.front());
        commands_.pop_front();
      }
      if (Clock::now() > command.deadline) {
        command.done(CommandOutcome::kExpired, {});
        continue;
      }
      std::size_t index = 0;
      while (index < slots_.size() && slots_[index].driver->device() != command.device) ++index;
      if (index == slots_.size()) {  // submit() only routes owned devices here
        command.done(CommandOutcome::kCancelled, {});
        continue;
      }
      auto& driver = *slots_[index].driver;
      ++writes_since_poll_;
      // A write and its read-back: two transactions, within a poll's bound.
      heartbeat_.expect_within(poll_bound(slots_[index]));
      const auto result =
          command.action ? command.action(driver) : driver.write(command.point, command.value);
      {
        std::lock_guard lock(status_mutex_);
        status_[index].health = driver.health();
      }
      command.done(CommandOutcome::kExecuted, result);
    }
  }

  void run() {
    while (true) {
      // Poll every due device in turn: on a shared bus one transaction at a
      // time, and queued writes between two polls.
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        run_commands();
        if (stop_requested_) return;
        const auto now = Clock::now();
        const auto due_at = due(slots_[i]);
        if (due_at > now) continue;
        heartbeat_.expect_within(poll_bound(slots_[i]));
        poll_slot(i, now, false, skipped_ticks(due_at, now, slots_[i].tick));
      }
      run_commands();
      // Wake at least once a second even with nothing due, a cheap guard
      // against a clock that jumped or a device that never becomes due.
      auto next = Clock::now() + std::chrono::seconds(1);
      for (const auto& slot : slots_) next = std::min(next, due(slot));
      heartbeat_.expect_within(std::max(next - Clock::now(), Clock::duration::zero()));
      std::unique_lock lock(wake_mutex_);
      // Writes left over for want of budget mean a poll is due: no wait.
      wake_.wait_until(lock, next, [this] { return stop_requested_.load() || !commands_.empty(); });
      if (stop_requested_) return;
    }
  }

  std::string channel_;
  BatchSink sink_;
  PollObserver observer_;
  std::vector<Slot> slots_;
  Heartbeat heartbeat_;
  std::thread thread_;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_requested_{false};
  bool accepting_ = false;             // guarded by wake_mutex_
  std::deque<WriteCommand> commands_;  // guarded by wake_mutex_, at most kMaxQueuedWrites
  std::size_t writes_since_poll_ = 0;  // worker thread only
  mutable std::mutex status_mutex_;
  std::vector<DeviceStatus> status_;
};

std::uint64_t skipped_ticks(Clock::time_point due, Clock::time_point started,
                            Clock::duration tick) noexcept {
  if (due == Clock::time_point{} || tick <= Clock::duration::zero() || started <= due) return 0;
  return static_cast<std::uint64_t>((started - due) / tick);
}

Scheduler::Scheduler(const config::Config& config,
                     std::vector<std::unique_ptr<drivers::Driver>> drivers, BatchSink sink,
                     PollObserver observer) {
  std::map<std::string, Worker*> by_channel;
  for (auto& driver : drivers) {
    const auto* device = config.find_device(driver->device());
    if (device == nullptr) {
      throw std::logic_error("scheduler: driver for unknown device " + driver->device());
    }
    auto& worker = by_channel[driver->channel()];
    if (worker == nullptr) {
      workers_.push_back(std::make_unique<Worker>(driver->channel(), sink, observer));
      worker = workers_.back().get();
    }
    by_device_[driver->device()] = worker;
    worker->add(std::move(driver), *device);
  }
}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::start() {
  for (auto& worker : workers_) worker->start();
}

void Scheduler::stop() {
  for (auto& worker : workers_) worker->stop();
}

void Scheduler::poll_once() {
  std::vector<std::thread> threads;
  for (auto& worker : workers_) threads.emplace_back([&worker] { worker->poll_once(); });
  for (auto& thread : threads) thread.join();
}

std::vector<Scheduler::Progress> Scheduler::progress() const {
  std::vector<Progress> out;
  for (const auto& worker : workers_) out.push_back({worker->channel(), &worker->heartbeat()});
  return out;
}

Submitted Scheduler::submit(WriteCommand command) {
  const auto it = by_device_.find(command.device);
  if (it == by_device_.end()) return Submitted::kNoWorker;
  return it->second->submit(std::move(command));
}

std::vector<DeviceStatus> Scheduler::status() const {
  std::vector<DeviceStatus> out;
  for (const auto& worker : workers_) worker->append_status(out);
  return out;
}

}  // namespace fieldgate::gateway
