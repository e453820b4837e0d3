#include "gateway/watchdog.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace fieldgate::gateway {

ProgressWatchdog::ProgressWatchdog(Clock::duration interval, Clock::duration grace, bool supervised)
    : interval_(interval), grace_(grace), supervised_(supervised) {}

bool ProgressWatchdog::tick(const std::vector<Part>& parts, Clock::time_point now) {
  std::vector<std::string> stalled;
  for (const auto& part : parts) {
    const auto late = part.heartbeat->overdue(now);
    if (late > grace_) {
      stalled.push_back(
          fmt::format("{} ({}s late)", part.name,
                      std::chrono::duration_cast<std::chrono::seconds>(late).count()));
    }
  }
  if (!stalled.empty() && stalled_.empty()) {
    spdlog::error("watchdog: no progress from {}{}", fmt::join(stalled, ", "),
                  supervised_ ? "; no longer telling systemd that the gateway is alive, expect a "
                                "restart"
                              : "");
  } else if (stalled.empty() && !stalled_.empty()) {
    spdlog::warn("watchdog: progress again ({} had stalled)", fmt::join(stalled_, ", "));
  }
  stalled_ = std::move(stalled);
  if (!stalled_.empty() || now < next_pet_) return false;
  next_pet_ = now + interval_ / 2;
  return true;
}

}  // namespace fieldgate::gateway
