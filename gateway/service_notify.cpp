#include "gateway/service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

#include <spdlog/spdlog.h>

namespace fieldgate::gateway {

ServiceNotifier::ServiceNotifier() {
  std::uint64_t usec = 0;
  // > 0 only when systemd watches this very process (WATCHDOG_PID = getpid()).
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds(usec);
  }
}

void ServiceNotifier::send(const std::string& state) const {
  const int r = sd_notify(0, state.c_str());
  if (r < 0) spdlog::debug("sd_notify failed: {}", r);
}

void ServiceNotifier::ready(const std::string& status) const {
  send("READY=1\nSTATUS=" + status);
}

void ServiceNotifier::reloading() const {
  send("RELOADING=1\nSTATUS=reloading the configuration");
}

void ServiceNotifier::stopping(const std::string& status) const {
  send("STOPPING=1\nSTATUS=" + status);
}

void ServiceNotifier::status(const std::string& line) const {
  send("STATUS=" + line);
}

void ServiceNotifier::watchdog() const {
  send("WATCHDOG=1");
}

}  // namespace fieldgate::gateway
