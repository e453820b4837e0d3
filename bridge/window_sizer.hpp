// Private to bridge/: how many messages the forwarder keeps unconfirmed at
// once. A window needs to hold what the link carries in one round trip (its
// bandwidth-delay product); more only makes the client's own bookkeeping
// dearer. libmosquitto walks its list of unconfirmed messages from the head
// on every publish and every acknowledgement, so on a LAN or loopback a window
// of 1,000 costs 15-20 % more CPU per reading than one of 100, while over 4G
// (50 ms round trip) a window of 100 caps a drain at 2,000 messages/s.
//
// The round trip that counts is the link's, not the queue's: only a message
// handed over while nothing else at QoS 1 or 2 was unconfirmed measures it
// (the first of every poll round on a live link; the first of a drain). Each
// period (kPeriod) the sizer sets the window to kGain times the confirmation
// rate times the shortest such round trip seen lately, within
// [min(kFloor, max_inflight), max_inflight], moving at most twofold. While
// the window holds a drain back, the pump keeps between half of it and all
// of it in flight, so confirmations come at about window / 2 per round trip
// and kGain = 4 doubles the window each period until max_inflight or the
// link's own rate is the limit (then the window settles at 4 x its
// bandwidth-delay product). A fast link, or a live rate far below the
// link's, keeps the floor.
//
// Threads: the forwarder thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

namespace fieldgate::bridge::detail {

class WindowSizer {
 public:
  using Clock = std::chrono::steady_clock;

  /// The smallest window it chooses: 100 measured cheapest on loopback (32
  /// costs more wake-ups than it saves walking, 1,000 the walk).
  static constexpr std::size_t kFloor = 100;
  static constexpr Clock::duration kPeriod = std::chrono::milliseconds(250);
  static constexpr double kGain = 4.0;
  /// The shortest round trip is the minimum over the last one or two of these
  /// that had a sample.
  static constexpr Clock::duration kRttMemory = std::chrono::seconds(10);

  explicit WindowSizer(std::size_t max_inflight) noexcept;

  /// Messages that may be unconfirmed at once now.
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

  /// `count` messages were confirmed at `now`; `rtt` is the quickest round
  /// trip among those of them handed over alone (see above), if any was.
  void confirmed(std::size_t count, std::optional<Clock::duration> rtt,
                 Clock::time_point now) noexcept;

 private:
  void end_period(Clock::time_point now) noexcept;
  [[nodiscard]] Clock::duration min_rtt() const noexcept;

  std::size_t max_;
  std::size_t floor_;
  std::size_t limit_;
  Clock::time_point period_start_{};
  std::size_t period_count_ = 0;
  bool started_ = false;
  // A windowed minimum: this stretch of kRttMemory and the one before it.
  Clock::time_point rtt_stretch_start_{};
  Clock::duration rtt_now_ = Clock::duration::max();
  Clock::duration rtt_before_ = Clock::duration::max();
};

}  // namespace fieldgate::bridge::detail
