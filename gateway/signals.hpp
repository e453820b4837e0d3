// Synchronous signal handling: SIGINT, SIGTERM and SIGHUP are blocked in every
// thread and collected by the main thread with sigtimedwait(), so no code runs
// in signal-handler context.
#pragma once

#include <chrono>

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
};

}  // namespace fieldgate::gateway
