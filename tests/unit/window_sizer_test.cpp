#include "bridge/window_sizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace fieldgate::bridge::detail {
namespace {

using Clock = WindowSizer::Clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// A link in simulated time: a message is confirmed `delay` after it leaves
// the wire, and the wire carries at most `per_second` messages (a queue
// builds in front of it). The sender works like the pump: it refills once at
// most half the window is unconfirmed, up to the window. It has `backlog`
// messages waiting, then `burst` new ones every `every` (a poll round).
struct Link {
  Clock::duration delay;
  double per_second;
};

struct Load {
  std::size_t backlog = 0;
  std::size_t burst = 0;
  Clock::duration every = milliseconds(100);
};

struct Run {
  std::size_t final_limit = 0;
  std::size_t max_seen = 0;
  std::size_t min_seen = 1'000'000;
};

Run simulate(WindowSizer& sizer, Link link, Load load, Clock::duration length,
             Clock::time_point& now) {
  Run run;
  const auto step = microseconds(100);
  const auto gap = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / link.per_second));
  std::deque<Clock::time_point> sent;        // when each unconfirmed one was handed over
  std::deque<bool> alone;                    // nothing else was unconfirmed then
  std::deque<Clock::time_point> confirm_at;  // when each will be confirmed
  Clock::time_point wire_free = now;
  std::size_t waiting = load.backlog;
  auto next_burst = now;
  const auto end = now + length;
  for (; now < end; now += step) {
    std::size_t count = 0;
    std::optional<Clock::duration> quickest;
    while (!confirm_at.empty() && confirm_at.front() <= now) {
      if (alone.front())
        quickest = std::min(quickest.value_or(Clock::duration::max()), now - sent.front());
      confirm_at.pop_front();
      sent.pop_front();
      alone.pop_front();
      ++count;
    }
    if (count > 0) sizer.confirmed(count, quickest, now);
    if (load.burst > 0 && now >= next_burst) {
      waiting += load.burst;
      next_burst += load.every;
    }
    if (sent.size() <= sizer.limit() / 2) {
      while (sent.size() < sizer.limit() && waiting > 0) {
        --waiting;
        wire_free = std::max(wire_free, now) + gap;
        alone.push_back(sent.empty());
        sent.push_back(now);
        confirm_at.push_back(wire_free + link.delay);
      }
    }
    run.max_seen = std::max(run.max_seen, sizer.limit());
    run.min_seen = std::min(run.min_seen, sizer.limit());
  }
  run.final_limit = sizer.limit();
  return run;
}

// A fresh sizer for max_inflight 1000 through one simulate().
Run fresh(Link link, Load load, Clock::duration length) {
  WindowSizer sizer(1000);
  auto now = Clock::time_point{} + std::chrono::hours(1);
  return simulate(sizer, link, load, length, now);
}

TEST(WindowSizer, StartsAtItsFloorOrAtMaxInflightWhenThatIsSmaller) {
  EXPECT_EQ(WindowSizer(1000).limit(), WindowSizer::kFloor);
  EXPECT_EQ(WindowSizer(20).limit(), 20u);
  EXPECT_EQ(WindowSizer(0).limit(), 1u);
}

// Loopback or a LAN (0.3 ms, 20,000 messages/s) with the bench's fleet: 500
// readings every 100 ms. The first of each refill waits behind little, so
// 4 x rate x round trip is a handful of messages: the window stays at its
// floor.
TEST(WindowSizer, AFastLinkKeepsTheFloorLiveAndWhileDraining) {
  const Link fast{microseconds(300), 20'000};
  EXPECT_EQ(fresh(fast, {0, 500, milliseconds(100)}, std::chrono::seconds(30)).max_seen,
            WindowSizer::kFloor);
  // Drained flat out: every message but the first of the drain waits behind
  // others, and only that first one's round trip counts.
  EXPECT_EQ(fresh(fast, {1'000'000}, std::chrono::seconds(30)).max_seen, WindowSizer::kFloor);
}

// 4G: 50 ms round trip, a wire of 20,000 messages/s. A window of 100 would
// cap the drain at 2,000/s; the sizer grows it to max_inflight, not beyond.
TEST(WindowSizer, ASlowRoundTripGrowsTheWindowWhileABacklogDrains) {
  const auto run = fresh({milliseconds(50), 20'000}, {1'000'000}, std::chrono::seconds(5));
  EXPECT_EQ(run.final_limit, 1000u);
  EXPECT_EQ(run.max_seen, 1000u);
}

// Once the backlog is gone, 20 readings every 100 ms over 50 ms need 4 x 10:
// the window shrinks back to its floor, and never below it.
TEST(WindowSizer, TheWindowShrinksBackWhenTheBacklogIsGone) {
  WindowSizer sizer(1000);
  auto now = Clock::time_point{} + std::chrono::hours(1);
  ASSERT_EQ(simulate(sizer, {milliseconds(50), 20'000}, {200'000}, std::chrono::seconds(5), now)
                .final_limit,
            1000u);
  const auto run = simulate(sizer, {milliseconds(50), 20'000}, {0, 20, milliseconds(100)},
                            std::chrono::seconds(5), now);
  EXPECT_EQ(run.final_limit, WindowSizer::kFloor);
  EXPECT_EQ(run.min_seen, WindowSizer::kFloor);
}

// The fleet's 5,000 readings/s over 4G keep 250 unconfirmed: the window
// grows to at least twice that (the pump refills at half of it), here to
// 4 x 250.
TEST(WindowSizer, ALiveRateOverASlowLinkGetsTheWindowItNeeds) {
  WindowSizer sizer(2000);
  auto now = Clock::time_point{} + std::chrono::hours(1);
  const auto run = simulate(sizer, {milliseconds(50), 20'000}, {0, 500, milliseconds(100)},
                            std::chrono::seconds(10), now);
  EXPECT_GE(run.final_limit, 400u);
  EXPECT_LE(run.final_limit, 1200u);
}

// It moves at most by a factor of two per period, whatever one period saw.
TEST(WindowSizer, OnePeriodMovesTheWindowAtMostTwofold) {
  WindowSizer sizer(100'000);
  auto now = Clock::time_point{} + std::chrono::hours(1);
  sizer.confirmed(1, std::chrono::seconds(1), now);
  now += WindowSizer::kPeriod;
  sizer.confirmed(1'000'000, std::chrono::seconds(1), now);
  EXPECT_EQ(sizer.limit(), 2 * WindowSizer::kFloor);
  now += WindowSizer::kPeriod;
  sizer.confirmed(1'000'000, std::chrono::seconds(1), now);
  EXPECT_EQ(sizer.limit(), 4 * WindowSizer::kFloor);
}

}  // namespace
}  // namespace fieldgate::bridge::detail
