// Register <-> value conversion: known vectors for every type and byte order,
// scale/offset, short input, out-of-range encodes and round trips.
#include "drivers/modbus/codec.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fieldgate::modbus {
namespace {

using Regs = std::vector<std::uint16_t>;

constexpr ByteOrder kAllOrders[] = {ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                    ByteOrder::kDCBA};

struct Vector {
  ByteOrder order;
  Regs regs;
};

Value decode(const Regs& regs, ValueType type, ByteOrder order, int bit = 0) {
  return decode_registers(regs, type, order, bit);
}

// Checks both directions: the registers decode to `value`, and `value`
// encodes to exactly these registers.
void expect_vectors(ValueType type, const Value& value, const std::vector<Vector>& vectors,
                    int count = 0) {
  for (const Vector& v : vectors) {
    SCOPED_TRACE(std::string(to_string(v.order)));
    EXPECT_EQ(decode(v.regs, type, v.order), value);
    const auto encoded = encode_registers(value, type, v.order, count);
    ASSERT_TRUE(encoded.has_value());
    EXPECT_EQ(*encoded, v.regs);
  }
}

TEST(Codec, Float32KnownVectors) {
  // 230.5f = 0x43668000
  expect_vectors(ValueType::kFloat32, 230.5,
                 {{ByteOrder::kABCD, {0x4366, 0x8000}},
                  {ByteOrder::kCDAB, {0x8000, 0x4366}},
                  {ByteOrder::kBADC, {0x6643, 0x0080}},
                  {ByteOrder::kDCBA, {0x0080, 0x6643}}});
}

TEST(Codec, Float32DecodesToTheDecimalAPersonWouldWrite) {
  // 230.2f is 0x43663333, whose exact value is 230.1999969482421875; readings
  // carry 230.2 so payloads and screens show what the meter shows.
  const std::uint16_t regs[] = {0x4366, 0x3333};
  EXPECT_EQ(std::get<double>(decode_registers(regs, ValueType::kFloat32, ByteOrder::kABCD)), 230.2);
  // Re-encoding gives back the very same float bits.
  EXPECT_EQ(encode_registers(230.2, ValueType::kFloat32, ByteOrder::kABCD),
            (std::vector<std::uint16_t>{0x4366, 0x3333}));
  const std::uint16_t nan[] = {0x7fc0, 0x0000};
  EXPECT_TRUE(
      std::isnan(std::get<double>(decode_registers(nan, ValueType::kFloat32, ByteOrder::kABCD))));
}

TEST(Codec, Int32KnownVectors) {
  // -2 = 0xFFFFFFFE
  expect_vectors(ValueType::kInt32, std::int64_t{-2},
                 {{ByteOrder::kABCD, {0xFFFF, 0xFFFE}},
                  {ByteOrder::kCDAB, {0xFFFE, 0xFFFF}},
                  {ByteOrder::kBADC, {0xFFFF, 0xFEFF}},
                  {ByteOrder::kDCBA, {0xFEFF, 0xFFFF}}});
}

TEST(Codec, UInt32KnownVectors) {
  expect_vectors(ValueType::kUInt32, std::int64_t{0x01020304},
                 {{ByteOrder::kABCD, {0x0102, 0x0304}},
                  {ByteOrder::kCDAB, {0x0304, 0x0102}},
                  {ByteOrder::kBADC, {0x0201, 0x0403}},
                  {ByteOrder::kDCBA, {0x0403, 0x0201}}});
  // Above INT32_MAX stays positive.
  EXPECT_EQ(decode({0xDEAD, 0xBEEF}, ValueType::kUInt32, ByteOrder::kABCD),
            Value(std::int64_t{0xDEADBEEF}));
}

TEST(Codec, Int64AndUInt64KnownVectors) {
  const std::vector<Vector> vectors = {
      {ByteOrder::kABCD, {0x0102, 0x0304, 0x0506, 0x0708}},
      {ByteOrder::kCDAB, {0x0708, 0x0506, 0x0304, 0x0102}},
      {ByteOrder::kBADC, {0x0201, 0x0403, 0x0605, 0x0807}},
      {ByteOrder::kDCBA, {0x0807, 0x0605, 0x0403, 0x0201}},
  };
  expect_vectors(ValueType::kInt64, std::int64_t{0x0102030405060708}, vectors);
  expect_vectors(ValueType::kUInt64, std::int64_t{0x0102030405060708}, vectors);
  expect_vectors(ValueType::kInt64, std::int64_t{-2},
                 {{ByteOrder::kABCD, {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE}},
                  {ByteOrder::kDCBA, {0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF}}});
}

TEST(Codec, UInt64AboveInt64MaxBecomesDouble) {
  const Value v = decode({0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, ValueType::kUInt64, ByteOrder::kABCD);
  ASSERT_TRUE(std::holds_alternative<double>(v));
  EXPECT_DOUBLE_EQ(std::get<double>(v), 18446744073709551615.0);
  const Value max = decode({0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}, ValueType::kUInt64, ByteOrder::kABCD);
  EXPECT_EQ(max, Value(std::numeric_limits<std::int64_t>::max()));
}

TEST(Codec, Float64KnownVectors) {
  // 230.5 = 0x406CD00000000000
  expect_vectors(ValueType::kFloat64, 230.5,
                 {{ByteOrder::kABCD, {0x406C, 0xD000, 0x0000, 0x0000}},
                  {ByteOrder::kCDAB, {0x0000, 0x0000, 0xD000, 0x406C}},
                  {ByteOrder::kBADC, {0x6C40, 0x00D0, 0x0000, 0x0000}},
                  {ByteOrder::kDCBA, {0x0000, 0x0000, 0x00D0, 0x6C40}}});
}

TEST(Codec, Int16AndUInt16KnownVectors) {
  // -1234 = 0xFB2E; word order means nothing for one register.
  expect_vectors(ValueType::kInt16, std::int64_t{-1234},
                 {{ByteOrder::kABCD, {0xFB2E}},
                  {ByteOrder::kCDAB, {0xFB2E}},
                  {ByteOrder::kBADC, {0x2EFB}},
                  {ByteOrder::kDCBA, {0x2EFB}}});
  expect_vectors(ValueType::kUInt16, std::int64_t{0xFB2E},
                 {{ByteOrder::kABCD, {0xFB2E}},
                  {ByteOrder::kCDAB, {0xFB2E}},
                  {ByteOrder::kBADC, {0x2EFB}},
                  {ByteOrder::kDCBA, {0x2EFB}}});
}

TEST(Codec, StringOddLengthIsNulPadded) {
  expect_vectors(ValueType::kString, std::string("ABC"),
                 {{ByteOrder::kABCD, {0x4142, 0x4300}},
                  {ByteOrder::kCDAB, {0x4142, 0x4300}},
                  {ByteOrder::kBADC, {0x4241, 0x0043}},
                  {ByteOrder::kDCBA, {0x4241, 0x0043}}},
                 2);
}

TEST(Codec, StringTrimsTrailingNulsAndSpaces) {
  EXPECT_EQ(decode({0x4142, 0x2020, 0x0000}, ValueType::kString, ByteOrder::kABCD),
            Value(std::string("AB")));
  EXPECT_EQ(decode({0x2041, 0x2000}, ValueType::kString, ByteOrder::kABCD),
            Value(std::string(" A")));  // leading spaces are content
  EXPECT_EQ(decode({0x0000, 0x0000}, ValueType::kString, ByteOrder::kABCD), Value(std::string()));
}

TEST(Codec, StringReplacesNonPrintableBytes) {
  // 0xFF, an inner NUL and 0x7F must not reach JSON or SQLite as raw bytes.
  EXPECT_EQ(decode({0x41FF, 0x0042, 0x7F43}, ValueType::kString, ByteOrder::kABCD),
            Value(std::string("A??B?C")));
}

TEST(Codec, BitAfterByteOrder) {
  EXPECT_EQ(decode({0x8001}, ValueType::kBit, ByteOrder::kABCD, 0), Value(true));
  EXPECT_EQ(decode({0x8001}, ValueType::kBit, ByteOrder::kABCD, 15), Value(true));
  EXPECT_EQ(decode({0x8001}, ValueType::kBit, ByteOrder::kABCD, 1), Value(false));
  EXPECT_EQ(decode({0x8001}, ValueType::kBit, ByteOrder::kCDAB, 14), Value(false));
  // Byte-swapped register: 0x0001 on the wire is 0x0100.
  EXPECT_EQ(decode({0x0001}, ValueType::kBit, ByteOrder::kBADC, 0), Value(false));
  EXPECT_EQ(decode({0x0001}, ValueType::kBit, ByteOrder::kBADC, 8), Value(true));
  EXPECT_EQ(decode({0x0001}, ValueType::kBit, ByteOrder::kDCBA, 8), Value(true));
  EXPECT_EQ(decode({0xFFFF}, ValueType::kBit, ByteOrder::kABCD, 16), Value());
  EXPECT_EQ(decode({0xFFFF}, ValueType::kBit, ByteOrder::kABCD, -1), Value());

  EXPECT_EQ(encode_registers(true, ValueType::kBit, ByteOrder::kABCD, 0, 15), Regs{0x8000});
  EXPECT_EQ(encode_registers(true, ValueType::kBit, ByteOrder::kBADC, 0, 0), Regs{0x0100});
  EXPECT_EQ(encode_registers(false, ValueType::kBit, ByteOrder::kABCD, 0, 3), Regs{0x0000});
  EXPECT_EQ(encode_registers(true, ValueType::kBit, ByteOrder::kABCD, 0, 16), std::nullopt);
}

TEST(Codec, BoolIsAnyNonZero) {
  EXPECT_EQ(decode({0}, ValueType::kBool, ByteOrder::kABCD), Value(false));
  EXPECT_EQ(decode({1}, ValueType::kBool, ByteOrder::kABCD), Value(true));
  EXPECT_EQ(decode({0xFF00}, ValueType::kBool, ByteOrder::kDCBA), Value(true));
  EXPECT_EQ(encode_registers(true, ValueType::kBool, ByteOrder::kDCBA), Regs{1});
  EXPECT_EQ(encode_registers(std::int64_t{0}, ValueType::kBool, ByteOrder::kABCD), Regs{0});
}

TEST(Codec, ScaleAndOffset) {
  const Value temp = apply_scale(std::int64_t{352}, 0.1, 0.0);
  ASSERT_TRUE(std::holds_alternative<double>(temp));
  EXPECT_DOUBLE_EQ(std::get<double>(temp), 35.2);

  const Value kwh = apply_scale(
      decode({0x0000, 0x0000, 0x0040, 0x16DB}, ValueType::kUInt64, ByteOrder::kABCD), 0.001, 0.0);
  ASSERT_TRUE(std::holds_alternative<double>(kwh));
  EXPECT_DOUBLE_EQ(std::get<double>(kwh), 4200.155);  // 0x4016DB = 4200155 Wh

  const Value celsius = apply_scale(std::int64_t{2731}, 0.1, -273.1);
  EXPECT_NEAR(std::get<double>(celsius), 0.0, 1e-9);
  EXPECT_EQ(apply_scale(std::int64_t{2}, 1.0, 5.0), Value(7.0));

  // Identity keeps integers exact (an int64 above 2^53 would not survive a double).
  const std::int64_t big = (std::int64_t{1} << 60) + 1;
  EXPECT_EQ(apply_scale(big, 1.0, 0.0), Value(big));
  EXPECT_EQ(apply_scale(230.5, 1.0, 0.0), Value(230.5));
  EXPECT_EQ(apply_scale(230.5, 2.0, 1.0), Value(462.0));

  EXPECT_EQ(apply_scale(true, 10.0, 1.0), Value(true));
  EXPECT_EQ(apply_scale(std::string("x"), 10.0, 1.0), Value(std::string("x")));
  EXPECT_EQ(apply_scale(Value(), 10.0, 1.0), Value());
}

TEST(Codec, TooShortInputIsMonostate) {
  const struct {
    ValueType type;
    std::size_t needs;
  } cases[] = {
      {ValueType::kBool, 1},    {ValueType::kBit, 1},    {ValueType::kInt16, 1},
      {ValueType::kUInt16, 1},  {ValueType::kInt32, 2},  {ValueType::kUInt32, 2},
      {ValueType::kFloat32, 2}, {ValueType::kInt64, 4},  {ValueType::kUInt64, 4},
      {ValueType::kFloat64, 4}, {ValueType::kString, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.type)));
    const Regs short_regs(c.needs - 1, 0x1234);
    EXPECT_EQ(decode(short_regs, c.type, ByteOrder::kABCD), Value());
    const Regs enough(c.needs, 0x4142);
    EXPECT_FALSE(std::holds_alternative<std::monostate>(decode(enough, c.type, ByteOrder::kABCD)));
  }
}

TEST(Codec, EncodeRejectsValuesThatDoNotFit) {
  const auto abcd = ByteOrder::kABCD;
  EXPECT_EQ(encode_registers(std::int64_t{70000}, ValueType::kUInt16, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{-1}, ValueType::kUInt16, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{-1}, ValueType::kUInt32, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{4294967296}, ValueType::kUInt32, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{32768}, ValueType::kInt16, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{-32769}, ValueType::kInt16, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{2147483648}, ValueType::kInt32, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{-1}, ValueType::kUInt64, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(18446744073709551616.0, ValueType::kUInt64, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(9223372036854775808.0, ValueType::kInt64, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(35.2, ValueType::kInt16, abcd), std::nullopt);  // not integral
  EXPECT_EQ(encode_registers(std::nan(""), ValueType::kInt32, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(1e39, ValueType::kFloat32, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::string("12"), ValueType::kUInt16, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(true, ValueType::kFloat32, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(Value(), ValueType::kFloat64, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::int64_t{2}, ValueType::kBool, abcd), std::nullopt);
  EXPECT_EQ(encode_registers(std::string("FIVE!"), ValueType::kString, abcd, 2), std::nullopt);
  EXPECT_EQ(encode_registers(std::string("A"), ValueType::kString, abcd, 0), std::nullopt);
  EXPECT_EQ(encode_registers(std::string("caf\xc3\xa9"), ValueType::kString, abcd, 4),
            std::nullopt);
  EXPECT_EQ(encode_registers(230.5, ValueType::kString, abcd, 4), std::nullopt);

  // The edges themselves fit.
  EXPECT_EQ(encode_registers(std::int64_t{65535}, ValueType::kUInt16, abcd), Regs{0xFFFF});
  EXPECT_EQ(encode_registers(std::int64_t{-32768}, ValueType::kInt16, abcd), Regs{0x8000});
  EXPECT_EQ(encode_registers(4294967295.0, ValueType::kUInt32, abcd), (Regs{0xFFFF, 0xFFFF}));
  EXPECT_EQ(encode_registers(std::string("FOUR"), ValueType::kString, abcd, 2),
            (Regs{0x464F, 0x5552}));
}

TEST(Codec, RoundTripsEveryTypeAndOrder) {
  const struct {
    ValueType type;
    std::vector<Value> values;
    int count;
  } cases[] = {
      {ValueType::kBool, {true, false}, 0},
      {ValueType::kInt16,
       {std::int64_t{-32768}, std::int64_t{-1234}, std::int64_t{0}, std::int64_t{32767}},
       0},
      {ValueType::kUInt16,
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{0x1234}, std::int64_t{65535}},
       0},
      {ValueType::kInt32,
       {std::int64_t{std::numeric_limits<std::int32_t>::min()}, std::int64_t{-2}, std::int64_t{7},
        std::int64_t{std::numeric_limits<std::int32_t>::max()}},
       0},
      {ValueType::kUInt32,
       {std::int64_t{0}, std::int64_t{0x01020304}, std::int64_t{4294967295}},
       0},
      {ValueType::kInt64,
       {std::numeric_limits<std::int64_t>::min(), std::int64_t{-2},
        std::int64_t{0x0102030405060708}, std::numeric_limits<std::int64_t>::max()},
       0},
      {ValueType::kUInt64,
       {std::int64_t{0}, std::int64_t{0x0102030405060708}, std::numeric_limits<std::int64_t>::max(),
        18446744073709549568.0 /* 2^64 - 2048, a double */},
       0},
      {ValueType::kFloat32,
       {230.5, -0.5, 0.0, static_cast<double>(1e-10F),
        static_cast<double>(std::numeric_limits<float>::max()),
        -std::numeric_limits<double>::infinity()},
       0},
      {ValueType::kFloat64,
       {230.5, -1e300, std::numeric_limits<double>::denorm_min(),
        std::numeric_limits<double>::infinity()},
       0},
      {ValueType::kString,
       {std::string(), std::string("A"), std::string("FG-PM-000042"),
        std::string("0123456789abcdef")},
       8},
  };
  for (const auto& c : cases) {
    for (ByteOrder order : kAllOrders) {
      for (const Value& v : c.values) {
        SCOPED_TRACE(std::string(to_string(c.type)) + " " + std::string(to_string(order)) + " " +
                     format_value(v));
        const auto regs = encode_registers(v, c.type, order, c.count);
        ASSERT_TRUE(regs.has_value());
        const auto decoded = decode(*regs, c.type, order);
        if (c.type == ValueType::kFloat32) {
          // Decoding gives the shortest decimal of the float, not the double
          // that went in; what must survive is the float, bit for bit.
          EXPECT_EQ(static_cast<float>(std::get<double>(decoded)),
                    static_cast<float>(std::get<double>(v)));
          EXPECT_EQ(encode_registers(decoded, c.type, order, c.count), regs);
        } else {
          EXPECT_EQ(decoded, v);
        }
      }
    }
  }
  // Bits, at both ends and in the middle of the register.
  for (ByteOrder order : kAllOrders) {
    for (int bit : {0, 7, 8, 15}) {
      for (bool b : {true, false}) {
        const auto regs = encode_registers(b, ValueType::kBit, order, 0, bit);
        ASSERT_TRUE(regs.has_value());
        EXPECT_EQ(decode(*regs, ValueType::kBit, order, bit), Value(b)) << "bit " << bit;
      }
    }
  }
  // NaN never equals itself: compare by kind.
  for (ValueType type : {ValueType::kFloat32, ValueType::kFloat64}) {
    for (ByteOrder order : kAllOrders) {
      const auto regs = encode_registers(std::nan(""), type, order);
      ASSERT_TRUE(regs.has_value());
      EXPECT_TRUE(std::isnan(std::get<double>(decode(*regs, type, order))));
    }
  }
}

TEST(Codec, IntegralDoublesEncodeAsIntegers) {
  // Integer values that came through a double (JSON, scale) are accepted.
  EXPECT_EQ(encode_registers(-2.0, ValueType::kInt32, ByteOrder::kCDAB), (Regs{0xFFFE, 0xFFFF}));
  EXPECT_EQ(encode_registers(std::int64_t{3}, ValueType::kFloat32, ByteOrder::kABCD),
            (Regs{0x4040, 0x0000}));
}

}  // namespace
}  // namespace fieldgate::modbus
