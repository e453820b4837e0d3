// Scheduler: one worker thread per channel (an RS-485 bus, a Modbus TCP
// endpoint). A worker polls its devices in turn, each at its own cadence, and
// backs off a failing device; a dead device delays only its own channel.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bridge/heartbeat.hpp"
#include "config/config.hpp"
#include "drivers/driver.hpp"

namespace fieldgate::gateway {

/// Receives every batch a device produced. Called from worker threads,
/// concurrently: it must be thread-safe and should not block for long.
using BatchSink = std::function<void(Batch&&)>;

struct DeviceStatus {
  std::string device;
  std::string channel;
  drivers::DeviceHealth health;
  bool backing_off = false;
};

class Scheduler {
 public:
  /// `config` supplies each device's back-off settings; drivers are grouped by channel().
  Scheduler(const config::Config& config, std::vector<std::unique_ptr<drivers::Driver>> drivers,
            BatchSink sink);
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

  [[nodiscard]] std::vector<DeviceStatus> status() const;

  /// Each worker's heartbeat, named by its channel, for the watchdog. Valid
  /// while the scheduler lives.
  struct Progress {
    std::string channel;
    const bridge::Heartbeat* heartbeat;
  };
  [[nodiscard]] std::vector<Progress> progress() const;
  [[nodiscard]] std::size_t channel_count() const noexcept { return workers_.size(); }

 private:
  class Worker;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace fieldgate::gateway
