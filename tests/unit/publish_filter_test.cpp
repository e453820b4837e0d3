// Publish policies: the deadband's edges, quality flips, intervals, and the
// filter that thins the drivers' batches.
#include "gateway/publish_filter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

namespace fieldgate::gateway {
namespace {

using namespace std::chrono_literals;
using config::Deadband;
using config::PublishMode;
using config::PublishPolicy;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Reading reading_of(Value value, std::int64_t ts_ms, Quality quality = Quality::kGood) {
  Reading r;
  r.device = "meter";
  r.point = "power";
  r.value = std::move(value);
  r.quality = quality;
  r.source_ts_ms = ts_ms;
  return r;
}

LastPublished last_of(Value value, std::int64_t ts_ms, Quality quality = Quality::kGood) {
  return LastPublished{true, std::move(value), quality, ts_ms};
}

PublishPolicy on_change(Deadband deadband = {}, std::chrono::milliseconds min_interval = 0ms,
                        std::chrono::milliseconds max_interval = 0ms) {
  return PublishPolicy{PublishMode::kOnChange, deadband, min_interval, max_interval};
}

TEST(PublishDeadband, AnAbsoluteDeadbandNeedsAMoveLargerThanItself) {
  const Deadband half{0.5, false};
  EXPECT_FALSE(value_changed(230.0, 230.5, half));  // exactly the deadband: no change
  EXPECT_FALSE(value_changed(230.0, 229.5, half));
  EXPECT_TRUE(value_changed(230.0, 230.51, half));
  EXPECT_TRUE(value_changed(230.0, 229.49, half));
  EXPECT_FALSE(value_changed(230.0, 230.0, Deadband{}));
  EXPECT_TRUE(value_changed(230.0, 230.000001, Deadband{}));  // no deadband: any move
}

TEST(PublishDeadband, APercentIsOfTheLastPublishedMagnitude) {
  const Deadband one_percent{1.0, true};
  EXPECT_FALSE(value_changed(200.0, 202.0, one_percent));  // 1 % of 200
  EXPECT_TRUE(value_changed(200.0, 202.01, one_percent));
  EXPECT_FALSE(value_changed(-200.0, -198.0, one_percent));  // of the magnitude
  EXPECT_TRUE(value_changed(-200.0, -197.9, one_percent));
  // Around zero a percentage is of nothing: every move counts.
  EXPECT_TRUE(value_changed(0.0, 0.001, one_percent));
  EXPECT_TRUE(value_changed(0.0, -0.001, one_percent));
  EXPECT_FALSE(value_changed(0.0, 0.0, one_percent));
}

TEST(PublishDeadband, NaNAndInfinitiesAreValuesOfTheirOwn) {
  const Deadband wide{1e9, false};
  EXPECT_FALSE(value_changed(kNaN, kNaN, wide));
  EXPECT_TRUE(value_changed(kNaN, 1.0, wide));
  EXPECT_TRUE(value_changed(1.0, kNaN, wide));
  EXPECT_FALSE(value_changed(kInf, kInf, wide));
  EXPECT_TRUE(value_changed(kInf, -kInf, wide));
  EXPECT_TRUE(value_changed(1.0, kInf, wide));  // no deadband is wider than infinity
}

TEST(PublishDeadband, IntegersCompareAsNumbersOtherValuesByEquality) {
  EXPECT_FALSE(value_changed(std::int64_t{100}, std::int64_t{102}, Deadband{2, false}));
  EXPECT_TRUE(value_changed(std::int64_t{100}, std::int64_t{103}, Deadband{2, false}));
  EXPECT_FALSE(value_changed(std::int64_t{100}, 100.0, Deadband{}));
  EXPECT_TRUE(value_changed(true, false, Deadband{5, false}));
  EXPECT_FALSE(value_changed(std::string("run"), std::string("run"), Deadband{}));
  EXPECT_TRUE(value_changed(std::string("run"), std::string("stop"), Deadband{}));
  EXPECT_FALSE(value_changed(Value{}, Value{}, Deadband{}));
  EXPECT_TRUE(value_changed(Value{}, 1.0, Deadband{}));
}

TEST(PublishDecision, TheFirstReadingAlwaysGoesThrough) {
  EXPECT_EQ(decide(on_change({10, false}, 60s), LastPublished{}, reading_of(1.0, 0)),
            Verdict::kFirst);
}

TEST(PublishDecision, AQualityChangeGoesThroughAtOnceWhateverThePolicy) {
  const auto policy = on_change({10, false}, 60s, 600s);
  const auto good = last_of(1.0, 1000);
  EXPECT_EQ(decide(policy, good, reading_of(Value{}, 1001, Quality::kTimeout)),
            Verdict::kQualityChanged);
  const auto failed = last_of(Value{}, 1000, Quality::kTimeout);
  EXPECT_EQ(decide(policy, failed, reading_of(1.0, 1001)), Verdict::kQualityChanged);
  EXPECT_EQ(decide(policy, failed, reading_of(Value{}, 1001, Quality::kNoConnection)),
            Verdict::kQualityChanged);
  // The same failure again is no change.
  EXPECT_EQ(decide(policy, failed, reading_of(Value{}, 61000, Quality::kTimeout)),
            Verdict::kUnchanged);
}

TEST(PublishDecision, MinIntervalHoldsBackEvenEveryReadingOfAlways) {
  const PublishPolicy policy{PublishMode::kAlways, {}, 5s, 0ms};
  const auto last = last_of(1.0, 10'000);
  EXPECT_EQ(decide(policy, last, reading_of(2.0, 14'999)), Verdict::kTooSoon);
  EXPECT_EQ(decide(policy, last, reading_of(2.0, 15'000)), Verdict::kAlways);
  EXPECT_EQ(decide(PublishPolicy{}, last, reading_of(1.0, 10'000)), Verdict::kAlways);
}

TEST(PublishDecision, OnChangePublishesMovesAndAHeartbeatAtMaxInterval) {
  const auto policy = on_change({0.5, false}, 0ms, 60s);
  const auto last = last_of(230.0, 0);
  EXPECT_EQ(decide(policy, last, reading_of(230.4, 1000)), Verdict::kUnchanged);
  EXPECT_EQ(decide(policy, last, reading_of(231.0, 1000)), Verdict::kChanged);
  EXPECT_EQ(decide(policy, last, reading_of(230.4, 59'999)), Verdict::kUnchanged);
  EXPECT_EQ(decide(policy, last, reading_of(230.4, 60'000)), Verdict::kHeartbeat);
  // Without max_interval an unchanged point stays quiet.
  EXPECT_EQ(decide(on_change({0.5, false}), last, reading_of(230.0, 86'400'000)),
            Verdict::kUnchanged);
}

TEST(PublishDecision, AChangeWithinMinIntervalWaitsForTheNextReadingAfterIt) {
  const auto policy = on_change({}, 10s);
  const auto last = last_of(1.0, 0);
  EXPECT_EQ(decide(policy, last, reading_of(5.0, 9'000)), Verdict::kTooSoon);
  // Compared with what was published, not with the reading held back.
  EXPECT_EQ(decide(policy, last, reading_of(5.0, 10'000)), Verdict::kChanged);
  EXPECT_EQ(decide(policy, last, reading_of(1.0, 10'000)), Verdict::kUnchanged);
}

TEST(PublishDecision, AClockThatWentBackPublishes) {
  EXPECT_EQ(decide(on_change({}, 60s), last_of(1.0, 50'000), reading_of(1.0, 40'000)),
            Verdict::kClockBack);
}

config::Config two_points(PublishPolicy device_policy, std::optional<PublishPolicy> energy) {
  config::Config config;
  config::DeviceConfig device;
  device.name = "meter";
  device.publish = device_policy;
  config::PointConfig power;
  power.name = "power";
  config::PointConfig energy_point;
  energy_point.name = "energy";
  if (energy) energy_point.publish = std::make_shared<const config::PublishPolicy>(*energy);
  device.points = {power, energy_point};
  config.devices.push_back(device);
  return config;
}

Reading point_reading(const std::string& point, double value, std::int64_t ts_ms) {
  auto r = reading_of(value, ts_ms);
  r.point = point;
  return r;
}

TEST(PublishFilterTest, ThinsBatchesByEachPointsPolicyAndCountsWhatItHeldBack) {
  PublishFilter filter(two_points(on_change({1.0, false}), PublishPolicy{}));
  ASSERT_TRUE(filter.active());
  Batch first{point_reading("power", 100, 0), point_reading("energy", 5, 0)};
  filter.apply(first);
  EXPECT_EQ(first.size(), 2u);

  Batch second{point_reading("power", 100.5, 1000), point_reading("energy", 5, 1000),
               point_reading("power", 102, 1000), point_reading("other", 1, 1000)};
  filter.apply(second);
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0].point, "energy");  // "always" overrides the device's on_change
  EXPECT_EQ(second[1].point, "power");
  EXPECT_EQ(std::get<double>(second[1].value), 102);
  EXPECT_EQ(second[2].point, "other");  // not configured: untouched
  EXPECT_EQ(filter.suppressed(), 1u);

  // 102.5 is within 1.0 of the 102 published, not of the 100.5 held back.
  Batch third{point_reading("power", 102.5, 2000)};
  filter.apply(third);
  EXPECT_TRUE(third.empty());
  EXPECT_EQ(filter.suppressed(), 2u);
  EXPECT_EQ(filter.suppressed_by_device(), (std::map<std::string, std::uint64_t>{{"meter", 2}}));

  // A point that publishes every reading keeps no memory and needs none:
  // the same value again, and a timestamp from before the last, go through.
  Batch fourth{point_reading("energy", 5, 3000), point_reading("energy", 5, 500)};
  filter.apply(fourth);
  EXPECT_EQ(fourth.size(), 2u);
  EXPECT_EQ(filter.suppressed(), 2u);
}

// device-json: a message per poll holds what the policies let through, and on
// a point's max_interval heartbeat the whole poll (a full snapshot), except
// what min_interval holds back.
TEST(PublishFilterTest, ADeviceJsonHeartbeatCarriesTheWholePoll) {
  auto config = two_points(on_change({1.0, false}), on_change({0.5, false}, 0ms, 10s));
  config.devices[0].points.push_back(config.devices[0].points[0]);
  config.devices[0].points[2].name = "slow";
  config.devices[0].points[2].publish =
      std::make_shared<const config::PublishPolicy>(on_change({1.0, false}, 20s));
  config.devices[0].payload = config::PayloadFormat{"device-json", true};
  PublishFilter filter(config);
  Batch first{point_reading("power", 100, 0), point_reading("energy", 5, 0),
              point_reading("slow", 1, 0)};
  EXPECT_EQ(filter.apply(first), 0u);
  EXPECT_EQ(first.size(), 3u);

  // Only what moved: power.
  Batch moved{point_reading("power", 103, 1000), point_reading("energy", 5, 1000),
              point_reading("slow", 1, 1000)};
  EXPECT_EQ(filter.apply(moved), 2u);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].point, "power");

  // energy's max_interval (10 s) passed: power comes along unchanged; slow
  // stays within its min_interval (20 s).
  Batch heartbeat{point_reading("power", 103, 10000), point_reading("energy", 5, 10000),
                  point_reading("slow", 1, 10000)};
  EXPECT_EQ(filter.apply(heartbeat), 1u);
  ASSERT_EQ(heartbeat.size(), 2u);
  EXPECT_EQ(heartbeat[0].point, "power");
  EXPECT_EQ(heartbeat[1].point, "energy");

  // The same poll of a device publishing a message per reading: only energy.
  config.devices[0].payload = std::nullopt;
  PublishFilter per_reading(config);
  Batch again = first;
  (void)per_reading.apply(again);
  Batch beat{point_reading("power", 100, 10000), point_reading("energy", 5, 10000),
             point_reading("slow", 1, 10000)};
  EXPECT_EQ(per_reading.apply(beat), 2u);
  ASSERT_EQ(beat.size(), 1u);
  EXPECT_EQ(beat[0].point, "energy");
}

TEST(PublishFilterTest, EveryReadingPolicyIsNotActiveAndLeavesBatchesAlone) {
  PublishFilter filter(two_points(PublishPolicy{}, std::nullopt));
  EXPECT_FALSE(filter.active());
  Batch batch{point_reading("power", 1, 0), point_reading("power", 1, 0)};
  filter.apply(batch);
  EXPECT_EQ(batch.size(), 2u);
  EXPECT_EQ(filter.suppressed(), 0u);
  // Every device is counted, also one whose points all publish every reading.
  EXPECT_EQ(filter.suppressed_by_device(), (std::map<std::string, std::uint64_t>{{"meter", 0}}));
}

}  // namespace
}  // namespace fieldgate::gateway
