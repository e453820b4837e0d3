#include "gateway/reading_format.hpp"

#include <gtest/gtest.h>

namespace fieldgate::gateway {
namespace {

TEST(ReadingFormatTest, TimestampsAreUtcWithMilliseconds) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(1795601234567), "2026-11-25T10:07:14.567Z");
}

TEST(ReadingFormatTest, GoodReadingLineHasValueUnitAndQuality) {
  Reading r{"meter-1", "voltage_l1", 230.5, "V", Quality::kGood, 0, 0, {}};
  EXPECT_EQ(format_reading(r, 8, 12),
            "1970-01-01T00:00:00.000Z  meter-1   voltage_l1           230.5 V  good");
}

TEST(ReadingFormatTest, FailedReadingShowsNoValueAndTheError) {
  Reading r{
      "m", "p", std::monostate{}, "V", Quality::kTimeout, 0, 0, "input 0..1: Connection timed out"};
  const auto line = format_reading(r, 1, 1);
  EXPECT_NE(line.find("  -  timeout  (input 0..1: Connection timed out)"), std::string::npos)
      << line;
  EXPECT_EQ(line.find(" V "), std::string::npos) << "no unit without a value: " << line;
}

TEST(ReadingFormatTest, JsonCarriesTypedValuesAndNullForFailures) {
  Reading good{"m", "energy", std::int64_t{123456789012}, "Wh", Quality::kGood, 42, 0, {}};
  auto j = to_json(good);
  EXPECT_EQ(j["value"].get<std::int64_t>(), 123456789012);
  EXPECT_EQ(j["quality"], "good");
  EXPECT_EQ(j["ts_ms"], 42);
  EXPECT_FALSE(j.contains("error"));

  Reading text{"m", "serial", std::string("FG-1"), "", Quality::kGood, 0, 0, {}};
  EXPECT_EQ(to_json(text)["value"], "FG-1");
  Reading flag{"m", "relay", true, "", Quality::kGood, 0, 0, {}};
  EXPECT_EQ(to_json(flag)["value"], true);

  Reading bad{"m", "p", std::monostate{}, "", Quality::kException, 0, 0, "Illegal data address"};
  j = to_json(bad);
  EXPECT_TRUE(j["value"].is_null());
  EXPECT_EQ(j["quality"], "exception");
  EXPECT_EQ(j["error"], "Illegal data address");
}

// A serial instrument's string in Latin-1 ("21.5\xB0C") is not UTF-8: a plain
// dump() threw, which aborted `fieldgate poll --json` (the printing runs on a
// scheduler worker) and stopped `queue ls/export --json` half-way.
TEST(ReadingFormatTest, JsonLineReplacesBytesThatAreNotUtf8) {
  Reading r{"m",
            "t",
            std::string("21.5\xB0"
                        "C"),
            "",
            Quality::kGood,
            0,
            0,
            {}};
  EXPECT_THROW((void)to_json(r).dump(), nlohmann::json::type_error);
  const std::string line = json_line(to_json(r));
  EXPECT_NE(line.find("\"value\":\"21.5\xEF\xBF\xBD"
                      "C\""),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace fieldgate::gateway
