// ServiceNotifier: the notify protocol of a Type=notify systemd service.
// Outside systemd ($NOTIFY_SOCKET unset) every call does nothing, so the same
// code runs at a terminal, in tests and under the service manager.
//
// The protocol is a few newline-separated KEY=VALUE lines in one datagram to
// the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract
// namespace); systemd documents it as a stable interface meant to be spoken
// without its library. Speaking it here rather than linking libsystemd keeps
// six shared libraries (libsystemd and the compression and crypto libraries
// it brings) and about 1 MiB of resident memory out of the daemon.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace fieldgate::gateway {

class ServiceNotifier {
 public:
  /// Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID once.
  ServiceNotifier();

  /// The interval systemd expects WATCHDOG=1 within (WatchdogSec=), if it
  /// watches this process.
  [[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval() const noexcept {
    return watchdog_interval_;
  }

  /// READY=1: configuration loaded, buffer open, workers started.
  void ready(const std::string& status) const;
  /// RELOADING=1 (SIGHUP); ready() ends it.
  void reloading() const;
  /// STOPPING=1.
  void stopping(const std::string& status) const;
  /// STATUS=: one line shown by `systemctl status`.
  void status(const std::string& line) const;
  /// WATCHDOG=1: the gateway is making progress.
  void watchdog() const;

 private:
  void send(const std::string& state) const;
  std::string socket_;  // as in $NOTIFY_SOCKET; empty: not under systemd
  std::optional<std::chrono::microseconds> watchdog_interval_;
};

namespace detail {

/// The watchdog interval from $WATCHDOG_USEC and $WATCHDOG_PID (either may be
/// null): set only when the value is a positive decimal and the pid, if
/// given, is `self` — a child started with the parent's environment must not
/// think systemd watches it.
[[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval_from(const char* usec,
                                                                              const char* pid,
                                                                              pid_t self);

/// Sends `state` as one datagram to the notify socket `socket` ("/path" or
/// "@abstract"). Returns 0 or a negative errno.
int notify_socket_send(std::string_view socket, std::string_view state);

}  // namespace detail
}  // namespace fieldgate::gateway
