#include "gateway/reading_format.hpp"

#include <gtest/gtest.h>

namespace fieldgate::gateway {
namespace {

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

TEST(ReadingFormatTest, PrintableEscapesControlCharactersAndBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("230.5 \xC2\xB0"
                      "C"),
            "230.5 \xC2\xB0"
            "C")
      << "UTF-8 text stays as it is";
  EXPECT_EQ(printable("a\x1B[2J\x1B]0;pwned\x07z"), "a\\x1B[2J\\x1B]0;pwned\\x07z");
  EXPECT_EQ(printable(std::string("nul\0cr\rlf\ntab\tdel\x7F", 18)),
            "nul\\x00cr\\rlf\\ntab\\tdel\\x7F");
  EXPECT_EQ(printable("csi\xC2\x9B"
                      "2J"),
            "csi\\u009B2J")
      << "C1 control (8-bit CSI)";
  EXPECT_EQ(printable("latin1 \xB0 \xE9"), "latin1 \\xB0 \\xE9");
  EXPECT_EQ(printable("cut \xE2\x82"), "cut \\xE2\\x82");
  EXPECT_EQ(printable("back\\slash"), "back\\\\slash") << "unambiguous: \\ is escaped too";
}

TEST(ReadingFormatTest, ALineForPeopleNeverCarriesADevicesEscapeSequences) {
  Reading r{"m\x1B[31m", "p\n", std::string("\x1B]0;title\x07ok"), "\x9B", Quality::kGood, 0,
            0,           {}};
  const auto line = format_reading(r, 1, 1);
  for (const char c : line) {
    const auto b = static_cast<unsigned char>(c);
    EXPECT_TRUE(b >= 0x20 && b != 0x7F) << "raw control byte " << int(b) << " in: " << line;
  }
  EXPECT_NE(line.find("\\x1B]0;title\\x07ok \\x9B"), std::string::npos) << line;
  Reading failed{"m", "p", std::monostate{}, "", Quality::kBadResponse, 0, 0, "got \x1B[5m"};
  EXPECT_NE(format_reading(failed, 1, 1).find("(got \\x1B[5m)"), std::string::npos);
}

TEST(ReadingUtf8Test, InvalidBytesBecomeOneReplacementCharacterEach) {
  EXPECT_TRUE(
      is_valid_utf8("plain \xC2\xB0"
                    "C \xF0\x9F\x98\x80"));
  EXPECT_FALSE(
      is_valid_utf8("\xB0"
                    "C"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF")) << "overlong";
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80")) << "surrogate";
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80")) << "above U+10FFFF";
  EXPECT_EQ(to_valid_utf8("21 \xB0"
                          "C"),
            "21 \xEF\xBF\xBD"
            "C");
  EXPECT_EQ(to_valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(to_valid_utf8("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");

  Reading r{"d\xFF", "p", std::string("v\xFE"), "\xB0", Quality::kGood, 0, 0, "e\x80"};
  EXPECT_TRUE(make_valid_utf8(r));
  EXPECT_EQ(r.device, "d\xEF\xBF\xBD");
  EXPECT_EQ(std::get<std::string>(r.value), "v\xEF\xBF\xBD");
  EXPECT_EQ(r.unit, "\xEF\xBF\xBD");
  EXPECT_EQ(r.error, "e\xEF\xBF\xBD");
  EXPECT_FALSE(make_valid_utf8(r)) << "nothing left to replace";
}

}  // namespace
}  // namespace fieldgate::gateway
