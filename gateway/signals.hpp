// Synchronous signal handling: SIGINT, SIGTERM and SIGHUP are blocked in every
// thread and collected by the main thread with sigtimedwait(), so no code runs
// in signal-handler context.
#pragma once

#include <chrono>
#include <optional>

namespace fieldgate::gateway {

class SignalWaiter {
 public:
  /// Blocks the signals in the calling thread and in every thread it starts
  /// afterwards: construct before starting workers.
  SignalWaiter();
  ~SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  /// Waits up to `timeout`; returns the signal number, or 0 on timeout.
  int wait_for(std::chrono::milliseconds timeout);

  /// Waits for SIGINT or SIGTERM (SIGHUP is ignored), or until `duration`
  /// has passed when given. Returns the signal, or 0 when the time ran out.
  int wait_for_stop(std::optional<std::chrono::milliseconds> duration);
};

}  // namespace fieldgate::gateway
