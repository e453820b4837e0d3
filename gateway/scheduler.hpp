// Scheduler: one worker thread per channel (an RS-485 bus, a Modbus TCP
// endpoint). A worker polls its devices in turn, each at its own cadence, and
// backs off a failing device; a dead device delays only its own channel.
//
// Writes share the channel with the polls: each channel queues at most
// kMaxQueuedWrites (a full queue answers "busy" at once), and while a poll is
// due at most kWritesBetweenPolls run before it, so a flood of commands costs
// a poll one write's time, never the whole queue's.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "core/heartbeat.hpp"
#include "drivers/driver.hpp"
#include "gateway/availability.hpp"

namespace fieldgate::gateway {

/// Receives every batch a device produced. Called from worker threads,
/// concurrently: it must be thread-safe and should not block for long.
using BatchSink = std::function<void(Batch&&)>;

/// Told how each poll of a device left its health (availability.hpp). Called
/// from worker threads, concurrently: thread-safe, quick.
using PollObserver = std::function<void(const std::string& device, const drivers::DeviceHealth&)>;

/// How a queued write ended, besides the driver's own result.
enum class CommandOutcome {
  kExecuted,   // the driver ran it: see the WriteResult
  kExpired,    // its deadline passed while it waited for the bus: not executed
  kCancelled,  // the scheduler stopped (shutdown, reload) first: not executed
};

/// A write for the worker that owns the device's bus, executed between polls
/// by that worker's thread (never a second master on a line).
struct WriteCommand {
  std::string device;
  std::string point;
  Value value;
  drivers::Clock::time_point deadline;  // not executed after this
  /// Called exactly once: on the worker thread, or on the thread calling stop().
  std::function<void(CommandOutcome, const drivers::WriteResult&)> done;
  /// When set, the worker runs this instead of driver.write(point, value): a
  /// read the Modbus server passes through to the device, queued, bounded
  /// and expired exactly like a write. Must not throw.
  std::function<drivers::WriteResult(drivers::Driver&)> action;
};

/// Writes one channel holds at most, waiting for its bus.
inline constexpr std::size_t kMaxQueuedWrites = 32;
/// Writes a worker runs between two polls while a poll is due (with no poll
/// due, queued writes run until one is).
inline constexpr std::size_t kWritesBetweenPolls = 1;

/// What submit() did with a write.
enum class Submitted {
  kQueued,    // `done` will be called exactly once
  kBusy,      // the channel already holds kMaxQueuedWrites; `done` is not called
  kNoWorker,  // no worker owns the device, or the scheduler is stopped; `done` is not called
};

struct DeviceStatus {
  std::string device;
  std::string channel;
  drivers::DeviceHealth health;
  bool backing_off = false;
  /// Ticks of the device's fastest point group that passed without a poll
  /// because its worker started the poll a whole tick or more after it was
  /// due (the channel was busy with other devices, slow answers or writes).
  /// The driver then skips those slots to keep its cadence; back-off of a
  /// failing device is deliberate and not counted. Since the workers started
  /// (start, or the last reload, as the driver's own counters).
  std::uint64_t skipped_polls = 0;
  /// Readings its publish policy held back (gateway/publish_filter.hpp),
  /// since the workers started; filled in by Acquisition, not the scheduler.
  std::uint64_t suppressed = 0;
  /// What its availability topic says (availability.hpp); filled in by
  /// Acquisition, not the scheduler.
  Availability availability = Availability::kUnknown;
};

/// The ticks of length `tick` that passed without a poll when a poll due at
/// `due` started at `started`: 0 when it started less than one tick late, or
/// when it was never polled before (`due` is the epoch) or `tick` is not positive.
[[nodiscard]] std::uint64_t skipped_ticks(drivers::Clock::time_point due,
                                          drivers::Clock::time_point started,
                                          drivers::Clock::duration tick) noexcept;

class Scheduler {
 public:
  /// `config` supplies each device's back-off settings; drivers are grouped by
  /// channel(). `observer`, if set, hears of every poll's outcome.
  Scheduler(const config::Config& config, std::vector<std::unique_ptr<drivers::Driver>> drivers,
            BatchSink sink, PollObserver observer = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Starts one thread per channel.
  void start();
  /// Stops and joins the workers; devices are closed. Idempotent.
  void stop();
  /// Polls every device once (all its points), channels in parallel, and
  /// returns when all are done. For `poll --once`; do not mix with start().
  void poll_once();

  /// Queues a write for the worker of `command.device`, to run between its
  /// polls (see kWritesBetweenPolls); refused when that worker's queue is full
  /// or no worker owns the device.
  [[nodiscard]] Submitted submit(WriteCommand command);

  [[nodiscard]] std::vector<DeviceStatus> status() const;

  /// Each worker's heartbeat, named by its channel, for the watchdog. Valid
  /// while the scheduler lives.
  struct Progress {
    std::string channel;
    const Heartbeat* heartbeat;
  };
  [[nodiscard]] std::vector<Progress> progress() const;
  [[nodiscard]] std::size_t channel_count() const noexcept { return workers_.size(); }

 private:
  class Worker;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::map<std::string, Worker*, std::less<>> by_device_;
};

}  // namespace fieldgate::gateway
