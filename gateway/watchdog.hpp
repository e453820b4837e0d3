// ProgressWatchdog: whether the gateway may tell systemd it is alive.
//
// Being alive is not enough: the poll workers and the forwarder must be making
// progress. Each of them keeps a Heartbeat (core/heartbeat.hpp), a promise
// of when it will be back; one that is later than its promise plus a grace is
// stalled, and from then on no WATCHDOG=1 is sent, so that systemd kills and
// restarts the gateway after WatchdogSec=. Nothing is lost by that: whatever
// was accepted is in the store, and the restart sends it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/heartbeat.hpp"

namespace fieldgate::gateway {

class ProgressWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  /// A thread to watch: "forwarder", "channel rs485".
  struct Part {
    std::string name;
    const Heartbeat* heartbeat;
  };

  /// `interval`: systemd's WatchdogSec (WATCHDOG=1 goes out every half of
  /// it); `grace`: how far past its promise a part may be before it is stalled.
  /// `supervised`: systemd watches (the log then says a restart follows).
  ProgressWatchdog(Clock::duration interval, Clock::duration grace, bool supervised = true);

  /// Call on every turn of the main loop. True when WATCHDOG=1 is due now:
  /// half the interval has passed since the last one and no part is stalled.
  /// Logs an error, once, when a part stalls and when all recover.
  [[nodiscard]] bool tick(const std::vector<Part>& parts, Clock::time_point now);

  /// The parts stalled at the last tick(), "forwarder (12s late)".
  [[nodiscard]] const std::vector<std::string>& stalled() const noexcept { return stalled_; }

 private:
  Clock::duration interval_;
  Clock::duration grace_;
  bool supervised_;
  Clock::time_point next_pet_{};  // the first tick pets at once
  std::vector<std::string> stalled_;
};

/// How late a part may be before the watchdog calls it stalled: the loaded
/// Raspberry Pi's scheduling jitter, with a wide margin.
inline constexpr std::chrono::seconds kStallGrace{10};

}  // namespace fieldgate::gateway
