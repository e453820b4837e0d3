// The Sparkplug replay's token bucket (bridge/sparkplug_replay.hpp), on
// made-up times.
#include <gtest/gtest.h>

#include "bridge/sparkplug_replay.hpp"

namespace fieldgate::bridge::sparkplug {
namespace {

using namespace std::chrono_literals;
using Clock = ReplayPacer::Clock;

TEST(ReplayPacerTest, NoRateNeverHolds) {
  ReplayPacer pacer(0);
  const auto t0 = Clock::time_point{} + 1h;
  pacer.spend(1'000'000, t0);
  EXPECT_FALSE(pacer.holds(t0));
}

TEST(ReplayPacerTest, HoldsWhileAheadOfTheRateThenLetsGo) {
  ReplayPacer pacer(100);  // 100 readings per second, one second saved up
  const auto t0 = Clock::time_point{} + 1h;
  EXPECT_FALSE(pacer.holds(t0));
  pacer.spend(100, t0);  // the second's savings
  EXPECT_FALSE(pacer.holds(t0));
  pacer.spend(50, t0);  // half a second ahead
  EXPECT_TRUE(pacer.holds(t0));
  EXPECT_TRUE(pacer.holds(t0 + 400ms));
  EXPECT_FALSE(pacer.holds(t0 + 500ms));
}

TEST(ReplayPacerTest, SavingsAreCappedAtOneSecond) {
  ReplayPacer pacer(100);
  const auto t0 = Clock::time_point{} + 1h;
  pacer.spend(1, t0);
  // An hour of quiet saves one second's worth, not an hour's.
  const auto later = t0 + 1h;
  pacer.spend(101, later);
  EXPECT_TRUE(pacer.holds(later));
  EXPECT_FALSE(pacer.holds(later + 10ms));
}

TEST(ReplayPacerTest, AClockGoingBackDoesNotRefill) {
  ReplayPacer pacer(10);
  const auto t0 = Clock::time_point{} + 1h;
  pacer.spend(30, t0);  // two seconds ahead
  EXPECT_TRUE(pacer.holds(t0 - 10s));
  EXPECT_TRUE(pacer.holds(t0 + 1500ms));
  EXPECT_FALSE(pacer.holds(t0 + 2s));
}

}  // namespace
}  // namespace fieldgate::bridge::sparkplug
