// Request planning: hand cases with exact requests, describe() text, and a
// brute-force proof on random small devices that the plan is minimal.
#include "drivers/modbus/plan.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/modbus_config.hpp"

namespace fieldgate::modbus {
namespace {

using config::DeviceConfig;
using config::Duration;
using config::PointConfig;
using Indices = std::vector<std::size_t>;

PointConfig point(std::string name, RegisterKind kind, int address,
                  ValueType type = ValueType::kUInt16, int count = 0) {
  return test_support::modbus_point(std::move(name), kind, address,
                                    is_bit_kind(kind) ? ValueType::kBool : type, count);
}

PointConfig holding(int address, ValueType type = ValueType::kUInt16, int count = 0) {
  return point("h" + std::to_string(address), RegisterKind::kHolding, address, type, count);
}

DeviceConfig device_with(std::vector<PointConfig> points, int max_gap = 16) {
  ModbusDeviceConfig settings;
  settings.max_gap = max_gap;
  return test_support::modbus_device("meter", std::move(points), settings);
}

struct Expected {
  RegisterKind kind;
  int start;
  int count;
  Indices points;
  Duration interval{1000};
};

void expect_plan(const DeviceConfig& device, const std::vector<Expected>& expected) {
  const auto plan = plan_requests(device);
  ASSERT_EQ(plan.size(), expected.size());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i) + ": " + describe(plan[i], device));
    EXPECT_EQ(plan[i].kind, expected[i].kind);
    EXPECT_EQ(plan[i].start, expected[i].start);
    EXPECT_EQ(plan[i].count, expected[i].count);
    EXPECT_EQ(plan[i].points, expected[i].points);
    EXPECT_EQ(plan[i].interval, expected[i].interval);
  }
}

constexpr auto kH = RegisterKind::kHolding;
constexpr auto kI = RegisterKind::kInput;
constexpr auto kC = RegisterKind::kCoil;
constexpr auto kD = RegisterKind::kDiscreteInput;

TEST(Plan, EmptyDeviceHasNoRequests) {
  EXPECT_TRUE(plan_requests(device_with({})).empty());
}

TEST(Plan, GapBelowAtAndAboveMaxGap) {
  // Holes of 3, 4 and 5 unused registers with max_gap 4.
  expect_plan(device_with({holding(0), holding(4)}, 4), {{kH, 0, 5, {0, 1}}});
  expect_plan(device_with({holding(0), holding(5)}, 4), {{kH, 0, 6, {0, 1}}});
  expect_plan(device_with({holding(0), holding(6)}, 4), {{kH, 0, 1, {0}}, {kH, 6, 1, {1}}});
}

TEST(Plan, GapIsMeasuredFromTheFurthestEnd) {
  // The uint64 at 0 covers 0..3, so the point at 6 leaves a hole of 2 (4, 5),
  // not the hole of 4 after the uint16 at 1.
  expect_plan(device_with({holding(0, ValueType::kUInt64), holding(1), holding(6)}, 2),
              {{kH, 0, 7, {0, 1, 2}}});
}

TEST(Plan, OverlappingPointsShareARequest) {
  // A uint32 at 10..11 and a uint16 view of its low word, even with max_gap 0.
  expect_plan(device_with({holding(11), holding(10, ValueType::kUInt32)}, 0),
              {{kH, 10, 2, {1, 0}}});
  // Two points on the very same register.
  expect_plan(device_with({holding(3), holding(3, ValueType::kInt16)}, 0), {{kH, 3, 1, {0, 1}}});
}

TEST(Plan, MaxGapZeroMergesOnlyAdjacentPoints) {
  expect_plan(device_with({holding(0), holding(1), holding(3, ValueType::kFloat32)}, 0),
              {{kH, 0, 2, {0, 1}}, {kH, 3, 2, {2}}});
}

TEST(Plan, ExactlyTheRegisterLimitIsOneRequest) {
  expect_plan(device_with({holding(0), holding(124)}, 200), {{kH, 0, 125, {0, 1}}});
  expect_plan(device_with({holding(0), holding(123, ValueType::kUInt32)}, 200),
              {{kH, 0, 125, {0, 1}}});
}

TEST(Plan, OneRegisterOverTheLimitSplits) {
  expect_plan(device_with({holding(0), holding(125)}, 200), {{kH, 0, 1, {0}}, {kH, 125, 1, {1}}});
  // The second point starts inside the limit but ends one past it.
  expect_plan(device_with({holding(0), holding(124, ValueType::kUInt32)}, 200),
              {{kH, 0, 1, {0}}, {kH, 124, 2, {1}}});
}

TEST(Plan, SmallerDeviceLimitIsHonoured) {
  DeviceConfig d = device_with({holding(0), holding(2), holding(4), holding(6)}, 16);
  edit_device_of(d).max_registers = 5;
  expect_plan(d, {{kH, 0, 5, {0, 1, 2}}, {kH, 6, 1, {3}}});
}

TEST(Plan, CoilLimitIs2000Bits) {
  expect_plan(device_with({point("a", kC, 0), point("b", kC, 1999)}, 2000),
              {{kC, 0, 2000, {0, 1}}});
  expect_plan(device_with({point("a", kC, 0), point("b", kC, 2000)}, 2000),
              {{kC, 0, 1, {0}}, {kC, 2000, 1, {1}}});
  DeviceConfig d = device_with({point("a", kD, 0), point("b", kD, 7), point("c", kD, 8)}, 16);
  edit_device_of(d).max_bits = 8;
  expect_plan(d, {{kD, 0, 8, {0, 1}}, {kD, 8, 1, {2}}});
}

TEST(Plan, KindsAreNeverMerged) {
  expect_plan(device_with({point("h", kH, 0), point("i", kI, 0), point("c", kC, 0),
                           point("d", kD, 0), point("h2", kH, 1)}),
              {{kC, 0, 1, {2}}, {kD, 0, 1, {3}}, {kH, 0, 2, {0, 4}}, {kI, 0, 1, {1}}});
}

TEST(Plan, IntervalsAreNeverMerged) {
  PointConfig fast = holding(1);
  fast.interval = Duration{500};
  PointConfig slow = holding(2);
  slow.interval = Duration{60000};
  expect_plan(device_with({holding(0), fast, slow, holding(3)}),
              {{kH, 1, 1, {1}, Duration{500}},
               {kH, 0, 4, {0, 3}, Duration{1000}},
               {kH, 2, 1, {2}, Duration{60000}}});
}

TEST(Plan, PointOverrideEqualToDeviceIntervalMerges) {
  PointConfig same = holding(1);
  same.interval = Duration{1000};
  expect_plan(device_with({holding(0), same}), {{kH, 0, 2, {0, 1}}});
}

TEST(Plan, SinglePointReadsGiveOneRequestPerPoint) {
  DeviceConfig d =
      device_with({holding(4), holding(0, ValueType::kFloat32), holding(4), point("c", kC, 0)});
  edit_device_of(d).single_point_reads = true;
  expect_plan(d, {{kC, 0, 1, {3}}, {kH, 0, 2, {1}}, {kH, 4, 1, {0}}, {kH, 4, 1, {2}}});
}

TEST(Plan, StringPointSpansItsRegisters) {
  expect_plan(device_with({holding(20, ValueType::kString, 8), holding(12)}, 16),
              {{kH, 12, 16, {1, 0}}});
  expect_plan(device_with({holding(20, ValueType::kString, 8), holding(12)}, 6),
              {{kH, 12, 1, {1}}, {kH, 20, 8, {0}}});
}

TEST(Plan, PowerMeterInputTable) {
  // The simulator's input map: twelve float32 at 0..23, then temperature and
  // status at 30/31, 6 registers past the last float.
  std::vector<PointConfig> points;
  for (int a = 0; a < 24; a += 2) {
    points.push_back(point("f" + std::to_string(a), kI, a, ValueType::kFloat32));
  }
  points.push_back(point("temperature", kI, 30, ValueType::kInt16));
  points.push_back(point("status", kI, 31, ValueType::kUInt16));
  Indices all(points.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  expect_plan(device_with(points, 6), {{kI, 0, 32, all}});
  expect_plan(device_with(points, 5),
              {{kI, 0, 24, Indices(all.begin(), all.end() - 2)}, {kI, 30, 2, {12, 13}}});
}

TEST(Plan, DescribeNamesRangeUnitIntervalAndPoints) {
  DeviceConfig d =
      device_with({point("voltage_l1", kI, 0, ValueType::kFloat32),
                   point("voltage_l2", kI, 2, ValueType::kFloat32), point("relay_1", kC, 0),
                   point("relay_2", kC, 1), point("ct_ratio", kH, 12)});
  d.points[4].interval = Duration{90000};
  d.points[2].interval = d.points[3].interval = Duration{250};
  const auto plan = plan_requests(d);
  ASSERT_EQ(plan.size(), 3U);
  EXPECT_EQ(describe(plan[0], d), "coil 0..1 (2 bits) every 250ms: relay_1, relay_2");
  EXPECT_EQ(describe(plan[1], d), "input 0..3 (4 registers) every 1s: voltage_l1, voltage_l2");
  EXPECT_EQ(describe(plan[2], d), "holding 12..12 (1 register) every 90s: ct_ratio");
}

TEST(Plan, DescribeSpellsIntervalsAsTheConfigDoes) {
  // The same spelling as config::format_duration: what `check` prints can be
  // pasted back into the file.
  const struct {
    std::int64_t ms;
    const char* text;
  } cases[] = {{1, "1ms"},    {999, "999ms"}, {1000, "1s"},     {1500, "1500ms"},
               {60000, "1m"}, {90000, "90s"}, {5400000, "90m"}, {3600000, "1h"}};
  for (const auto& c : cases) {
    DeviceConfig d = device_with({point("x", kD, 7)});
    d.poll_interval = Duration{c.ms};
    const auto plan = plan_requests(d);
    ASSERT_EQ(plan.size(), 1U);
    EXPECT_EQ(describe(plan[0], d),
              std::string("discrete_input 7..7 (1 bit) every ") + c.text + ": x");
  }
}

// ---- Brute force -----------------------------------------------------------

int length_of(const ModbusPointConfig& p) {
  return is_bit_kind(p.kind) ? 1 : register_count(p.type, p.count);
}

// Can these points (a bit mask over d.points) be read by one request?
bool one_request_can_hold(const DeviceConfig& d, unsigned mask) {
  std::vector<std::pair<int, int>> ranges;  // [begin, end)
  const PointConfig* first = nullptr;
  for (std::size_t i = 0; i < d.points.size(); ++i) {
    if ((mask & (1U << i)) == 0) continue;
    const PointConfig& p = d.points[i];
    if (first == nullptr) first = &p;
    if (point_of(p).kind != point_of(*first).kind || d.interval_of(p) != d.interval_of(*first)) {
      return false;
    }
    ranges.emplace_back(point_of(p).address, point_of(p).address + length_of(point_of(p)));
  }
  const ModbusDeviceConfig& settings = device_of(d);
  if (settings.single_point_reads && ranges.size() > 1) return false;
  std::sort(ranges.begin(), ranges.end());
  const int limit = is_bit_kind(point_of(*first).kind) ? settings.max_bits : settings.max_registers;
  int end = ranges.front().second;
  for (const auto& [b, e] : ranges) {
    if (b - end > settings.max_gap) return false;  // a hole wider than max_gap
    end = std::max(end, e);
  }
  return end - ranges.front().first <= limit;
}

// The fewest requests over every partition of the points into valid requests:
// dp over subsets, each step removing a block that holds the lowest remaining point.
int minimum_requests(const DeviceConfig& d) {
  const unsigned all = (1U << d.points.size()) - 1;
  std::vector<bool> valid(all + 1, false);
  for (unsigned m = 1; m <= all; ++m) valid[m] = one_request_can_hold(d, m);
  std::vector<int> best(all + 1, 1 << 20);
  best[0] = 0;
  for (unsigned m = 1; m <= all; ++m) {
    const unsigned low = m & (~m + 1);
    for (unsigned sub = m; sub != 0; sub = (sub - 1) & m) {
      if ((sub & low) != 0 && valid[sub]) best[m] = std::min(best[m], best[m & ~sub] + 1);
    }
  }
  return best[all];
}

// Every point in exactly one request, and each request a valid, tight read.
void expect_valid_plan(const DeviceConfig& d, const std::vector<ReadRequest>& plan) {
  std::vector<int> seen(d.points.size(), 0);
  for (const ReadRequest& r : plan) {
    unsigned mask = 0;
    int lo = 1 << 30;
    int hi = -1;
    for (std::size_t i : r.points) {
      ++seen[i];
      mask |= 1U << i;
      const PointConfig& p = d.points[i];
      const ModbusPointConfig& m = point_of(p);
      EXPECT_EQ(m.kind, r.kind);
      EXPECT_EQ(d.interval_of(p), r.interval);
      lo = std::min(lo, m.address);
      hi = std::max(hi, m.address + length_of(m));
    }
    EXPECT_TRUE(one_request_can_hold(d, mask)) << describe(r, d);
    EXPECT_EQ(r.start, lo);
    EXPECT_EQ(r.count, hi - lo);
  }
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "point " << i;
}

TEST(Plan, GreedyIsMinimalAgainstBruteForce) {
  std::mt19937 rng(20240611);
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const ValueType types[] = {ValueType::kUInt16, ValueType::kUInt32, ValueType::kFloat64,
                             ValueType::kString};
  int merged_somewhere = 0;
  int split_somewhere = 0;
  for (int round = 0; round < 3000; ++round) {
    DeviceConfig d;
    d.name = "random";
    ModbusDeviceConfig& settings = edit_device_of(d);
    settings.max_gap = pick(0, 6);
    settings.single_point_reads = pick(0, 19) == 0;
    const int n = pick(1, 8);
    int longest = 1;
    for (int i = 0; i < n; ++i) {
      PointConfig p;
      p.name = "p" + std::to_string(i);
      ModbusPointConfig& m = edit_point_of(p);
      const int k = pick(0, 9);
      m.kind = k < 7 ? kH : (k < 8 ? kI : kC);
      m.address = pick(0, 30);
      m.type = is_bit_kind(m.kind) ? ValueType::kBool : types[pick(0, 3)];
      if (m.type == ValueType::kString) m.count = pick(1, 6);
      if (pick(0, 7) == 0) p.interval = Duration{500};
      longest = std::max(longest, length_of(m));
      d.points.push_back(p);
    }
    settings.max_registers = pick(longest, 20);  // a validated config: every point fits
    settings.max_bits = pick(1, 12);

    const auto plan = plan_requests(d);
    SCOPED_TRACE("round " + std::to_string(round));
    expect_valid_plan(d, plan);
    ASSERT_EQ(static_cast<int>(plan.size()), minimum_requests(d));
    for (std::size_t i = 1; i < plan.size(); ++i) {
      EXPECT_LE(std::tie(plan[i - 1].interval, plan[i - 1].kind, plan[i - 1].start),
                std::tie(plan[i].interval, plan[i].kind, plan[i].start));
    }
    if (plan.size() < d.points.size()) ++merged_somewhere;
    if (plan.size() > 1) ++split_somewhere;
  }
  // The random cases exercise both merging and splitting, not only one of them.
  EXPECT_GT(merged_somewhere, 500);
  EXPECT_GT(split_somewhere, 500);
}

}  // namespace
}  // namespace fieldgate::modbus
