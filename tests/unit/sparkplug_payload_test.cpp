// The Sparkplug B codec against itself and against hand-made hostile bytes.
// (Independent decoding of what fieldgate sends is in
// tests/integration/sparkplug_test.cpp, with the Sparkplug project's own
// JavaScript library.)
#include "bridge/sparkplug_payload.hpp"

#include <gtest/gtest.h>

#include <string>

namespace fieldgate::bridge::sparkplug {
namespace {

// A protobuf varint.
std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// Field `number` of wire type 2 (length-delimited) holding `bytes`.
std::string field(int number, const std::string& bytes) {
  return varint((static_cast<std::uint64_t>(number) << 3) | 2) + varint(bytes.size()) + bytes;
}

TEST(SparkplugPayloadTest, EveryFieldSurvivesARoundTrip) {
  Payload p;
  p.timestamp = 1700000000123;
  p.seq = 255;
  Metric a;
  a.name = "Voltage L1";
  a.alias = 7;
  a.timestamp = 1700000000000;
  a.datatype = static_cast<std::uint32_t>(DataType::kDouble);
  a.value = 230.5;
  a.eng_unit = "V";
  a.is_historical = true;
  Metric b;
  b.alias = 8;
  b.datatype = static_cast<std::uint32_t>(DataType::kInt16);
  b.value = std::int64_t{-5};
  Metric c;
  c.alias = 9;
  c.datatype = static_cast<std::uint32_t>(DataType::kBoolean);
  c.value = true;
  Metric d;
  d.alias = 10;
  d.datatype = static_cast<std::uint32_t>(DataType::kString);
  d.value = std::string("SN-0042 °");
  Metric e;  // a failed read: no value, bad quality
  e.alias = 11;
  e.datatype = static_cast<std::uint32_t>(DataType::kDouble);
  e.quality = kQualityBad;
  Metric f;
  f.name = "bdSeq";
  f.datatype = static_cast<std::uint32_t>(DataType::kInt64);
  f.value = std::int64_t{3};
  p.metrics = {a, b, c, d, e, f};

  const auto decoded = decode(encode(p));
  ASSERT_TRUE(decoded.payload) << decoded.error;
  const Payload& q = *decoded.payload;
  EXPECT_EQ(q.timestamp, p.timestamp);
  EXPECT_EQ(q.seq, 255U);
  ASSERT_EQ(q.metrics.size(), 6U);
  EXPECT_EQ(q.metrics[0].name, "Voltage L1");
  EXPECT_EQ(q.metrics[0].alias, 7U);
  EXPECT_EQ(q.metrics[0].timestamp, 1700000000000U);
  EXPECT_EQ(std::get<double>(q.metrics[0].value), 230.5);
  EXPECT_EQ(q.metrics[0].eng_unit, "V");
  EXPECT_TRUE(q.metrics[0].is_historical);
  EXPECT_FALSE(q.metrics[0].quality);
  EXPECT_EQ(std::get<std::int64_t>(q.metrics[1].value), -5);
  EXPECT_FALSE(q.metrics[1].name);
  EXPECT_TRUE(std::get<bool>(q.metrics[2].value));
  EXPECT_EQ(std::get<std::string>(q.metrics[3].value), "SN-0042 °");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(q.metrics[4].value));
  EXPECT_EQ(q.metrics[4].quality, kQualityBad);
  EXPECT_EQ(q.metrics[5].datatype, static_cast<std::uint32_t>(DataType::kInt64));
  EXPECT_EQ(std::get<std::int64_t>(q.metrics[5].value), 3);
}

TEST(SparkplugPayloadTest, AnEmptyPayloadIsValid) {
  const auto decoded = decode("");
  ASSERT_TRUE(decoded.payload) << decoded.error;
  EXPECT_TRUE(decoded.payload->metrics.empty());
  EXPECT_FALSE(decoded.payload->seq);
}

TEST(SparkplugPayloadTest, HostileInputIsRefusedWithAReason) {
  // Not protobuf at all.
  EXPECT_FALSE(decode("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").payload);
  // A length running past the end.
  EXPECT_FALSE(decode(varint((2 << 3) | 2) + varint(1000) + "ab").payload);
  // Too large before parsing.
  DecodeLimits small;
  small.max_bytes = 16;
  const auto big = decode(std::string(17, '\0'), small);
  EXPECT_FALSE(big.payload);
  EXPECT_NE(big.error.find("17 bytes"), std::string::npos) << big.error;
  // Thousands of (empty) metrics.
  std::string many;
  for (int i = 0; i < 5000; ++i) many += field(2, "");
  const auto flood = decode(many);
  EXPECT_FALSE(flood.payload);
  EXPECT_NE(flood.error.find("5000 metrics"), std::string::npos) << flood.error;
  // A name that is not UTF-8, one with a NUL inside, one too long.
  for (const std::string& name :
       {std::string("\xC3\x28"), std::string("Node Control/Rebirth\0x", 22),
        std::string(5000, 'a')}) {
    const auto bad = decode(field(2, field(1, name)));
    EXPECT_FALSE(bad.payload) << name.size();
    EXPECT_NE(bad.error.find("metric 0"), std::string::npos) << bad.error;
  }
  // A string value that is not UTF-8 stays bytes, never text.
  const auto latin1 = decode(field(2, varint(4 << 3) + varint(12) +
                                          field(15,
                                                "\xB0"
                                                "C")));
  ASSERT_TRUE(latin1.payload) << latin1.error;
  EXPECT_TRUE(std::holds_alternative<Bytes>(latin1.payload->metrics[0].value));
}

TEST(SparkplugPayloadTest, NestedPropertySetsAreSkippedNotRecursed) {
  // A property value holding a property set holding ... 4,000 deep: field 9
  // of a PropertyValue is not in fieldgate's schema, so it is one unknown field.
  std::string nested;
  for (int i = 0; i < 4000; ++i) nested = field(9, field(2, nested));
  const std::string properties = field(1, "engUnit") + field(2, nested);
  const auto decoded = decode(field(2, field(9, properties)));
  ASSERT_TRUE(decoded.payload) << decoded.error;
  EXPECT_EQ(decoded.payload->metrics.size(), 1U);
}

}  // namespace
}  // namespace fieldgate::bridge::sparkplug
