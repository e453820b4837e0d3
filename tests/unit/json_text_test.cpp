// bridge/json_text.hpp writes payload JSON with fmt; these tests hold it
// against what nlohmann::json writes for the same values (the way payloads
// were rendered before), byte for byte, over many values: doubles of every
// magnitude and random bit patterns, NaN and infinities, negative zero, integer
// extremes, booleans, strings with escapes, control characters, valid and
// invalid UTF-8, and random bytes.
#include "bridge/json_text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "bridge/payload_formats.hpp"
#include "bridge/topics.hpp"
#include "bridge/value_json.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string rendered(const Value& value) {
  fmt::memory_buffer out;
  append_json_value(out, value);
  return fmt::to_string(out);
}

std::string expected(const Value& value) {
  return dump(value_to_json<Json>(value));
}

// json_payload as it was written before it used bridge/json_text.hpp. Its
// "ts" is core's iso8601() (tests/unit/clock_test.cpp): the old gmtime() text
// was wrong before year 0 ("-525") and, with a 32-bit time_t, after 2038.
std::string reference_json_payload(const Reading& reading) {
  Json j;
  j["value"] = reading.quality == Quality::kGood ? value_to_json<Json>(reading.value) : Json();
  j["unit"] = reading.unit;
  j["ts"] = iso8601(reading.source_ts_ms);
  j["ts_ms"] = reading.source_ts_ms;
  j["seq"] = reading.seq;
  j["quality"] = to_string(reading.quality);
  if (reading.quality != Quality::kGood) j["error"] = reading.error;
  return dump(j);
}

std::vector<double> special_doubles() {
  using L = std::numeric_limits<double>;
  std::vector<double> v{0.0,
                        -0.0,
                        1.0,
                        -1.0,
                        0.1,
                        0.2,
                        0.1 + 0.2,
                        1.0 / 3,
                        2.0 / 3,
                        21.5,
                        230.4,
                        -17.25,
                        100.0,
                        1e-4,
                        1e-5,
                        9.9999e-5,
                        0.00012345,
                        1e15,
                        1e16,
                        123456789012345.0,
                        1234567890123456.0,
                        1e21,
                        1e22,
                        1e100,
                        -1e-100,
                        L::min(),
                        L::max(),
                        L::lowest(),
                        L::denorm_min(),
                        L::epsilon(),
                        5e-324,
                        65535.0,
                        4294967295.0,
                        9007199254740993.0,
                        3.4028234663852886e38,
                        L::quiet_NaN(),
                        -L::quiet_NaN(),
                        L::infinity(),
                        -L::infinity(),
                        L::signaling_NaN()};
  for (int e = -330; e <= 310; ++e) {
    v.push_back(std::pow(10.0, e));
    v.push_back(-1.5 * std::pow(10.0, e));
  }
  return v;
}

TEST(JsonTextTest, DoublesAreWrittenAsNlohmannWritesThem) {
  for (double d : special_doubles()) EXPECT_EQ(rendered(d), expected(d)) << d;
  // Random bit patterns cover every exponent; random decimals the values of
  // sensors (few significant digits, typical magnitudes).
  std::mt19937_64 rng(20261125);
  std::uniform_real_distribution<double> sensor(-1e6, 1e6);
  for (int i = 0; i < 300'000; ++i) {
    const double bits = std::bit_cast<double>(rng());
    ASSERT_EQ(rendered(bits), expected(bits)) << std::hexfloat << bits;
    const double decimal = std::round(sensor(rng) * 100) / 100;
    ASSERT_EQ(rendered(decimal), expected(decimal)) << decimal;
    const auto f32 = static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
    ASSERT_EQ(rendered(f32), expected(f32)) << f32;
  }
  EXPECT_EQ(rendered(21.0), "21.0");
  EXPECT_EQ(rendered(-0.0), "-0.0");
  EXPECT_EQ(rendered(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(rendered(-std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonTextTest, IntegersBooleansAndNoValue) {
  using L = std::numeric_limits<std::int64_t>;
  for (std::int64_t i : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{42}, L::min(), L::max(),
                         std::int64_t{65535}, std::int64_t{-32768}}) {
    EXPECT_EQ(rendered(i), expected(i)) << i;
  }
  EXPECT_EQ(rendered(true), "true");
  EXPECT_EQ(rendered(false), "false");
  EXPECT_EQ(rendered(Value{}), "null");
  EXPECT_EQ(rendered(Value{}), expected(Value{}));
}

TEST(JsonTextTest, StringsAreEscapedAsNlohmannEscapesThem) {
  const std::vector<std::string> cases{
      "",
      "V",
      "°C",
      "m³/h",
      "say \"hi\"",
      "back\\slash",
      "tab\there",
      "line\nbreak\r\n",
      std::string("nul\0byte", 8),
      "\x01\x1f\x7f",
      "\b\f",
      "emoji \xF0\x9F\x98\x80",
      "\xEF\xBF\xBD",      // U+FFFD itself
      "\xC3\x28",          // invalid continuation
      "\xC0\xAF",          // overlong '/'
      "\xE0\x80\xAF",      // overlong
      "\xED\xA0\x80",      // a surrogate
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\xF5\x80\x80\x80",  // never a lead byte
      "\x80",              // lone continuation
      "trunc\xE2\x82",     // cut off at the end
      "\xE2\x82\xAC\xE2",  // good, then cut off
      "\xFF\xFEmixed\xC3\xA9 and \"quotes\"\n",
  };
  for (const auto& s : cases) {
    fmt::memory_buffer out;
    append_json_string(out, s);
    EXPECT_EQ(fmt::to_string(out), dump(Json(s))) << s;
  }
  // Random strings, mostly from bytes that make UTF-8 sequences (valid or not).
  std::mt19937_64 rng(7);
  const std::string alphabet =
      "aZ09 \"\\\n\x01\x7f\xC2\xA9\xE2\x82\xAC\xED\xA0\xF0\x9F\x98\x80\xF4\x90\xC0\xFF";
  for (int i = 0; i < 200'000; ++i) {
    std::string s(rng() % 12, ' ');
    for (auto& c : s) {
      c = rng() % 4 == 0 ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
    }
    fmt::memory_buffer out;
    append_json_string(out, s);
    ASSERT_EQ(fmt::to_string(out), dump(Json(s))) << ::testing::PrintToString(s);
  }
}

TEST(JsonTextTest, ReadingPayloadsAreTheBytesTheyWereBefore) {
  std::mt19937_64 rng(99);
  const std::vector<std::string> units{"", "V", "°C", "kWh", "a\"b", "\xC3"};
  const std::vector<std::string> errors{"", "timeout after 1000 ms", "exception 2 \"illegal\"",
                                        "bad \xFF byte", "line\nbreak"};
  for (int i = 0; i < 100'000; ++i) {
    Reading r;
    r.device = "d";
    r.point = "p";
    switch (rng() % 6) {
      case 0:
        r.value = std::bit_cast<double>(rng());
        break;
      case 1:
        r.value = static_cast<double>(static_cast<std::int32_t>(rng())) / 100;
        break;
      case 2:
        r.value = static_cast<std::int64_t>(rng());
        break;
      case 3:
        r.value = rng() % 2 == 0;
        break;
      case 4:
        r.value = units[rng() % units.size()] + errors[rng() % errors.size()];
        break;
      default:
        break;  // no value
    }
    r.unit = units[rng() % units.size()];
    r.quality = static_cast<Quality>(rng() % 5);
    if (r.quality != Quality::kGood) r.error = errors[rng() % errors.size()];
    // From before 1970 to past 9999, negative milliseconds included.
    r.source_ts_ms =
        static_cast<std::int64_t>(rng() % 400'000'000'000'000ULL) - 100'000'000'000'000LL;
    r.seq = rng();
    ASSERT_EQ(json_payload(r), reference_json_payload(r)) << i;
  }
}

}  // namespace
}  // namespace fieldgate::bridge
