// Gateway: the daemon of `fieldgate run`, as one object with a lifecycle.
// Wiring and sequencing only; the work is done by the Scheduler (acquisition),
// the Store (buffer) and the Forwarder (uplink).
//
// Shutdown order matters for "nothing accepted is lost": stop polling, commit
// what is pending, let the forwarder wait (bounded) for outstanding
// acknowledgements, then close the store. Whatever the broker has not
// confirmed stays in the database for the next start.
//
// Under systemd (Type=notify): READY=1 once the buffer is open and the workers
// run; STATUS= with the summary line; WATCHDOG=1 only while the workers and
// the forwarder keep their heartbeat promises (gateway/watchdog.hpp).
//
// Its members, one job each: the store (opened in start()), the uplink (the
// Forwarder, made in start_uplink() only, and the CommandRouter that shares
// its session), the Acquisition (replaced whole by reload()), the status
// reports, the ProgressWatchdog and the ServiceNotifier. It handles no
// signals: its caller (cmd_run.cpp) waits for them and calls it.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "bridge/forwarder.hpp"
#include "bridge/retained_set_hook.hpp"
#include "bridge/store.hpp"
#include "config/config.hpp"
#include "config/driver_schema.hpp"
#include "drivers/registry.hpp"
#include "gateway/acquisition.hpp"
#include "gateway/availability.hpp"
#include "gateway/command_router.hpp"
#include "gateway/commands.hpp"
#include "gateway/modbus_server.hpp"
#include "gateway/service_notify.hpp"
#include "gateway/sparkplug_uplink.hpp"
#include "gateway/status.hpp"
#include "gateway/watchdog.hpp"

namespace fieldgate::gateway {

class Gateway {
 public:
  /// `config` is loaded and checked (it has an [mqtt] table); nothing starts
  /// yet. `registry` makes the drivers, at start and at every reload.
  Gateway(const RunOptions& options, std::shared_ptr<config::Config> config,
          drivers::DriverRegistry registry = drivers::make_default_registry());
  /// After a start() that failed half-way: what did start is taken down.
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// Opens the buffer, connects the uplink, starts polling and says READY.
  /// kExitOk, or the exit code of what failed (logged): kExitBufferDamaged,
  /// kExitStartFailed, kExitServiceConfig.
  [[nodiscard]] int start();

  /// Loads the configuration file again and swaps the acquisition and the
  /// topic map for it; the buffer and the uplink carry on. A file that does
  /// not load, or drivers that cannot be made, leave the running configuration.
  void reload();

  /// The periodic duties, once per turn of the main loop: watchdog, command
  /// log, status. Returns how long the caller may wait for a signal.
  [[nodiscard]] std::chrono::milliseconds tick();

  /// Stops polling, commits, drains the uplink (bounded by drain_timeout),
  /// closes the buffer. Once, after a start() that succeeded.
  void stop();

 private:
  using SteadyClock = std::chrono::steady_clock;

  void load_again();
  /// After a configuration was loaded: the heap's freed pages and the code
  /// pages only loading touched go back (core/startup_pages.hpp).
  static void settle_memory();
  void start_uplink();
  void publish_discovery(const config::Config& config);
  void start_acquisition(const std::shared_ptr<const config::Config>& config);
  /// [modbus_server]: hands the server the acquisition's register caches.
  void serve_registers();
  [[nodiscard]] GatewayStatus current_status() const;
  void report_status();
  [[nodiscard]] std::vector<ProgressWatchdog::Part> watched_parts() const;

  const RunOptions options_;
  bool started_acquisition_ = false;        // --rediscover applies to the first only
  std::shared_ptr<config::Config> config_;  // shared with the drivers: alive through a reload
  const ServiceNotifier service_;
  const drivers::DriverRegistry registry_;
  const config::SchemaCatalog catalog_;      // what a reload loads with: the drivers, the formats
  std::unique_ptr<CommandRouter> commands_;  // first in, last out: outlives its callers
  // Shared with the forwarder's availability hook; outlives the acquisition.
  std::shared_ptr<AvailabilityBoard> availability_;
  std::unique_ptr<bridge::Store> store_;
  std::unique_ptr<bridge::Forwarder> forwarder_;
  // Home Assistant discovery: a hook the forwarder owns (not owned here);
  // reload() gives it the new set.
  bridge::RetainedSetHook* discovery_ = nullptr;
  std::unique_ptr<SparkplugUplink> sparkplug_;  // [sparkplug]: the edge node's wiring
  std::unique_ptr<Acquisition> acquisition_;
  std::unique_ptr<ModbusServer> modbus_server_;  // [modbus_server]: listen address fixed at start
  ProgressWatchdog watchdog_;
  SteadyClock::time_point started_{};
  SteadyClock::time_point next_status_{};
  SteadyClock::time_point next_service_status_{};
  std::vector<DeviceStatus> final_devices_;  // after acquisition stopped
};

}  // namespace fieldgate::gateway
