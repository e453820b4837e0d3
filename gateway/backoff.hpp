// Exponential back-off for a failing device, so a dead unit id on a shared
// RS-485 line does not steal bus time from the live ones.
#pragma once

#include <algorithm>
#include <chrono>

namespace fieldgate::gateway {

/// Wait before the next attempt after `failures` consecutive failed polls:
/// 0 for none, then base, 2×base, 4×base, … capped at `cap`.
[[nodiscard]] constexpr std::chrono::milliseconds backoff_delay(
    int failures, std::chrono::milliseconds base, std::chrono::milliseconds cap) noexcept {
  if (failures <= 0) return std::chrono::milliseconds(0);
  auto delay = base;
  for (int i = 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

}  // namespace fieldgate::gateway
