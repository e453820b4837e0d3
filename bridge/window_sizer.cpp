#include "bridge/window_sizer.hpp"

#include <algorithm>
#include <cmath>

namespace fieldgate::bridge::detail {

WindowSizer::WindowSizer(std::size_t max_inflight) noexcept
    : max_(std::max<std::size_t>(1, max_inflight)),
      floor_(std::min(kFloor, max_)),
      limit_(floor_) {}

void WindowSizer::confirmed(std::size_t count, std::optional<Clock::duration> rtt,
                            Clock::time_point now) noexcept {
  if (!started_) {
    started_ = true;
    period_start_ = now;
    rtt_stretch_start_ = now;
  }
  if (now - rtt_stretch_start_ >= kRttMemory) {
    // A stretch without a sample keeps the last known round trip: a drain
    // never leaves the window empty.
    if (rtt_now_ != Clock::duration::max()) rtt_before_ = rtt_now_;
    rtt_now_ = Clock::duration::max();
    rtt_stretch_start_ = now;
  }
  if (rtt) rtt_now_ = std::min(rtt_now_, std::max(*rtt, Clock::duration::zero()));
  period_count_ += count;
  if (now - period_start_ >= kPeriod) end_period(now);
}

WindowSizer::Clock::duration WindowSizer::min_rtt() const noexcept {
  return std::min(rtt_now_, rtt_before_);
}

void WindowSizer::end_period(Clock::time_point now) noexcept {
  const double seconds = std::chrono::duration<double>(now - period_start_).count();
  const double rate = static_cast<double>(period_count_) / seconds;
  period_start_ = now;
  period_count_ = 0;
  if (min_rtt() == Clock::duration::max()) return;  // no round trip known yet
  const double rtt = std::chrono::duration<double>(min_rtt()).count();
  const double want = std::ceil(kGain * rate * rtt);
  const double lo = static_cast<double>(limit_) / 2.0;
  const double hi = static_cast<double>(limit_) * 2.0;
  const double next = std::clamp(want, lo, hi);
  limit_ = std::clamp(static_cast<std::size_t>(next), floor_, max_);
}

}  // namespace fieldgate::bridge::detail
