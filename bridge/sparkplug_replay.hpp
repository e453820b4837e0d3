// The pace of a Sparkplug historical replay ([sparkplug] replay_rate): after
// an outage the store may hold hours of readings, and a host that takes them
// at the forwarder's full speed may fall behind its live work. A token bucket
// of readings: the encoder spends one per historical metric it sends, and
// while the bucket is in debt the hook holds the store's readings back (the
// forwarder asks before each round). A round may overspend by up to a window
// of messages; the debt is paid before the next, so the average holds, and
// bursts stay within about a second's worth plus a window.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace fieldgate::bridge::sparkplug {

class ReplayPacer {
 public:
  using Clock = std::chrono::steady_clock;

  /// `rate` readings per second; 0 = no limit (never holds).
  explicit ReplayPacer(std::int64_t rate) noexcept
      : rate_(rate), tokens_(static_cast<double>(rate)) {}

  /// `readings` historical readings were sent at `now`.
  void spend(std::size_t readings, Clock::time_point now) noexcept {
    if (rate_ <= 0 || readings == 0) return;
    refill(now);
    tokens_ -= static_cast<double>(readings);
  }

  /// True while the readings sent so far are ahead of the rate.
  [[nodiscard]] bool holds(Clock::time_point now) noexcept {
    if (rate_ <= 0) return false;
    refill(now);
    return tokens_ < 0;
  }

 private:
  void refill(Clock::time_point now) noexcept {
    if (last_ != Clock::time_point{} && now > last_) {
      const double seconds = std::chrono::duration<double>(now - last_).count();
      // At most a second's worth is saved up: a replay after a quiet spell
      // starts with one second's burst, not a long one.
      tokens_ =
          std::min(static_cast<double>(rate_), tokens_ + seconds * static_cast<double>(rate_));
    }
    last_ = std::max(last_, now);
  }

  std::int64_t rate_;
  double tokens_;
  Clock::time_point last_{};
};

}  // namespace fieldgate::bridge::sparkplug
