// The watchdog logic: heartbeats, when WATCHDOG=1 is due, and that a stalled
// part (a forwarder or a poll worker past its promise) stops it.
#include "gateway/watchdog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fieldgate::gateway {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

TEST(Heartbeat, OverdueOnlyPastItsPromise) {
  Heartbeat beat;
  const auto now = Clock::now();
  EXPECT_LE(beat.overdue(now + 1h), Clock::duration::zero()) << "never started: not stalled";
  beat.expect_within(10s);
  EXPECT_LE(beat.overdue(Clock::now()), Clock::duration::zero());
  EXPECT_GT(beat.overdue(Clock::now() + 11s), 500ms);
  beat.clear();
  EXPECT_LE(beat.overdue(Clock::now() + 1h), Clock::duration::zero()) << "ended: not stalled";
}

TEST(ProgressWatchdog, PetsEveryHalfIntervalWhileAllPartsKeepTheirPromise) {
  Heartbeat forwarder;
  Heartbeat worker;
  forwarder.expect_within(1h);
  worker.expect_within(1h);
  const std::vector<ProgressWatchdog::Part> parts{{"forwarder", &forwarder}, {"bus", &worker}};
  ProgressWatchdog watchdog(30s, 10s);
  const auto t0 = Clock::now();
  EXPECT_TRUE(watchdog.tick(parts, t0)) << "the first tick pets at once";
  EXPECT_FALSE(watchdog.tick(parts, t0 + 1s));
  EXPECT_FALSE(watchdog.tick(parts, t0 + 14s));
  EXPECT_TRUE(watchdog.tick(parts, t0 + 15s));
  EXPECT_FALSE(watchdog.tick(parts, t0 + 16s));
  EXPECT_TRUE(watchdog.tick(parts, t0 + 31s));
  EXPECT_TRUE(watchdog.stalled().empty());
}

TEST(ProgressWatchdog, AStalledForwarderStopsTheHeartbeat) {
  Heartbeat forwarder;
  Heartbeat worker;
  const std::vector<ProgressWatchdog::Part> parts{{"the MQTT forwarder", &forwarder},
                                                  {"the poll worker of rs485", &worker}};
  ProgressWatchdog watchdog(30s, 10s);
  worker.expect_within(1h);
  const auto t0 = Clock::now();
  forwarder.expect_within(1s);  // "back within a second", and then it hangs
  EXPECT_TRUE(watchdog.tick(parts, t0));
  EXPECT_FALSE(watchdog.tick(parts, t0 + 15s)) << "due, but the forwarder is 14 s late";
  ASSERT_EQ(watchdog.stalled().size(), 1u);
  EXPECT_THAT(watchdog.stalled()[0], HasSubstr("the MQTT forwarder ("));
  EXPECT_FALSE(watchdog.tick(parts, t0 + 60s)) << "no WATCHDOG=1 for as long as it hangs";
  // It comes back: the heartbeat resumes at once, the interval having passed.
  forwarder.expect_within(1h);
  EXPECT_TRUE(watchdog.tick(parts, t0 + 61s));
  EXPECT_TRUE(watchdog.stalled().empty());
}

TEST(ProgressWatchdog, LateWithinTheGraceIsNotStalled) {
  Heartbeat worker;
  const std::vector<ProgressWatchdog::Part> parts{{"the poll worker of rs485", &worker}};
  ProgressWatchdog watchdog(30s, 10s);
  const auto t0 = Clock::now();
  worker.expect_within(10s);
  EXPECT_TRUE(watchdog.tick(parts, t0));
  EXPECT_TRUE(watchdog.tick(parts, t0 + 15s)) << "5 s late, grace 10 s";
  EXPECT_FALSE(watchdog.tick(parts, t0 + 31s)) << "21 s late";
  EXPECT_THAT(watchdog.stalled(), ElementsAre(HasSubstr("the poll worker of rs485")));
}

}  // namespace
}  // namespace fieldgate::gateway
