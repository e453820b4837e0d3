// Heartbeat: how a long-running thread (the forwarder, a poll worker) tells the
// systemd watchdog that it is making progress. Before each step the thread
// promises when it will be back ("expect me within 1s": a wait, a poll, a
// connect attempt, each with its own bound); a thread past its promise is
// stalled, and the gateway stops sending WATCHDOG=1 so that systemd restarts it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace fieldgate {

class Heartbeat {
 public:
  using Clock = std::chrono::steady_clock;

  /// The thread will call again within `bound` from now, unless it is stuck.
  void expect_within(Clock::duration bound) noexcept {
    deadline_ns_.store((Clock::now() + bound).time_since_epoch().count(),
                       std::memory_order_relaxed);
  }

  /// The thread has ended (or not started): it cannot be stalled.
  void clear() noexcept { deadline_ns_.store(kNone, std::memory_order_relaxed); }

  /// How long past its promise the thread is at `now`; zero or less when on time.
  [[nodiscard]] Clock::duration overdue(Clock::time_point now) const noexcept {
    const auto deadline = deadline_ns_.load(std::memory_order_relaxed);
    if (deadline == kNone) return Clock::duration::zero();
    return now - Clock::time_point(Clock::duration(deadline));
  }

 private:
  static constexpr std::int64_t kNone = INT64_MIN;
  std::atomic<std::int64_t> deadline_ns_{kNone};
};

}  // namespace fieldgate
