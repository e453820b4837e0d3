// ServiceNotifier: the sd_notify(3) protocol of a Type=notify systemd service.
// Outside systemd ($NOTIFY_SOCKET unset) every call does nothing, so the same
// code runs at a terminal, in tests and under the service manager.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace fieldgate::gateway {

class ServiceNotifier {
 public:
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
  std::optional<std::chrono::microseconds> watchdog_interval_;
};

}  // namespace fieldgate::gateway
