// Encoding a value for a write (encode_point_value): the inverse of what a
// poll decodes, for every type and byte order, through scale and offset, and
// the refusals (before any bus traffic) of what does not fit.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "drivers/modbus/codec.hpp"
#include "tests/support/modbus_config.hpp"

namespace fieldgate::modbus {
namespace {

constexpr ByteOrder kAllOrders[] = {ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                    ByteOrder::kDCBA};

config::PointConfig make_point(ValueType type, double scale = 1.0, double offset = 0.0,
                               int count = 0, int bit = 0) {
  config::PointConfig p = test_support::modbus_point(
      "p", type == ValueType::kBool ? RegisterKind::kCoil : RegisterKind::kHolding, 0, type, count,
      bit);
  p.scale = scale;
  p.offset = offset;
  return p;
}

// What a poll of the written registers would publish.
Value read_back(const config::PointConfig& p, ByteOrder order,
                const std::vector<std::uint16_t>& regs) {
  return apply_scale(decode_registers(regs, point_of(p).type, order, point_of(p).bit), p.scale,
                     p.offset);
}

struct Case {
  ValueType type;
  Value value;
};

TEST(WriteCodecTest, EveryTypeAndByteOrderReadsBackAsWritten) {
  const std::vector<Case> cases = {
      {ValueType::kInt16, std::int64_t{-1234}},
      {ValueType::kInt16, std::int64_t{32767}},
      {ValueType::kUInt16, std::int64_t{65000}},
      {ValueType::kInt32, std::int64_t{-123456}},
      {ValueType::kUInt32, std::int64_t{4000000000LL}},
      {ValueType::kInt64, std::int64_t{-9876543210LL}},
      {ValueType::kInt64, std::numeric_limits<std::int64_t>::min()},
      {ValueType::kUInt64, std::int64_t{1234567890123LL}},
      {ValueType::kFloat32, 230.5},
      {ValueType::kFloat32, -0.1},
      {ValueType::kFloat64, -0.015625},
      {ValueType::kFloat64, 1e300},
      {ValueType::kString, std::string("PYMODBUS-01")},
  };
  for (ByteOrder order : kAllOrders) {
    for (const Case& c : cases) {
      SCOPED_TRACE(
          fmt::format("{} {} {}", to_string(order), to_string(c.type), format_value(c.value)));
      const auto p = make_point(c.type, 1.0, 0.0, c.type == ValueType::kString ? 6 : 0);
      const EncodedWrite e = encode_point_value(p, order, c.value);
      ASSERT_TRUE(e.error.empty()) << e.error;
      EXPECT_EQ(e.registers.size(),
                static_cast<std::size_t>(register_count(c.type, point_of(p).count)));
      EXPECT_EQ(read_back(p, order, e.registers), c.value);
    }
  }
}

TEST(WriteCodecTest, BitsAndCoils) {
  for (ByteOrder order : kAllOrders) {
    for (int bit : {0, 7, 8, 15}) {
      const auto p = make_point(ValueType::kBit, 1.0, 0.0, 0, bit);
      const EncodedWrite on = encode_point_value(p, order, true);
      ASSERT_TRUE(on.error.empty()) << on.error;
      EXPECT_EQ(read_back(p, order, on.registers), Value(true));
      const EncodedWrite off = encode_point_value(p, order, false);
      EXPECT_EQ(read_back(p, order, off.registers), Value(false));
    }
  }
  const auto coil = make_point(ValueType::kBool);
  EXPECT_EQ(encode_point_value(coil, ByteOrder::kABCD, true).registers,
            std::vector<std::uint16_t>{1});
  EXPECT_EQ(encode_point_value(coil, ByteOrder::kABCD, std::int64_t{0}).registers,
            std::vector<std::uint16_t>{0});
  EXPECT_NE(encode_point_value(coil, ByteOrder::kABCD, std::int64_t{2}).error, "");
  EXPECT_NE(encode_point_value(coil, ByteOrder::kABCD, 0.5).error, "");
}

TEST(WriteCodecTest, ScaleAndOffsetAreInvertedAndRounded) {
  for (ByteOrder order : kAllOrders) {
    // A setpoint in 0.1 °C steps: 21.5 °C is raw 215.
    const auto tenths = make_point(ValueType::kInt16, 0.1);
    const EncodedWrite e = encode_point_value(tenths, order, 21.5);
    ASSERT_TRUE(e.error.empty()) << e.error;
    EXPECT_EQ(decode_registers(e.registers, ValueType::kInt16, order), Value(std::int64_t{215}));
    EXPECT_NEAR(std::get<double>(read_back(tenths, order, e.registers)), 21.5, 1e-9);
    // Between two steps: the nearest one (21.54 → 215, 21.56 → 216).
    EXPECT_EQ(decode_registers(encode_point_value(tenths, order, 21.54).registers,
                               ValueType::kInt16, order),
              Value(std::int64_t{215}));
    EXPECT_EQ(decode_registers(encode_point_value(tenths, order, 21.56).registers,
                               ValueType::kInt16, order),
              Value(std::int64_t{216}));
    // Offset: value = raw * 0.5 - 40 → raw = (value + 40) / 0.5.
    const auto shifted = make_point(ValueType::kUInt16, 0.5, -40.0);
    const EncodedWrite s = encode_point_value(shifted, order, std::int64_t{10});
    EXPECT_EQ(decode_registers(s.registers, ValueType::kUInt16, order), Value(std::int64_t{100}));
    EXPECT_EQ(read_back(shifted, order, s.registers), Value(10.0));
    // A float register with a scale is not rounded.
    const auto kw = make_point(ValueType::kFloat32, 1000.0);
    const EncodedWrite f = encode_point_value(kw, order, 2500.0);
    EXPECT_EQ(decode_registers(f.registers, ValueType::kFloat32, order), Value(2.5));
  }
}

TEST(WriteCodecTest, RefusesWhatDoesNotFitTheType) {
  const auto i16 = make_point(ValueType::kInt16);
  EXPECT_EQ(encode_point_value(i16, ByteOrder::kABCD, std::int64_t{40000}).error,
            "40000 is out of range for int16");
  EXPECT_EQ(encode_point_value(i16, ByteOrder::kABCD, 21.5).error,
            "21.5 is not a whole number, as int16 needs");
  EXPECT_EQ(encode_point_value(i16, ByteOrder::kABCD, std::string("x")).error,
            "expected a number, got \"x\"");
  const auto u16 = make_point(ValueType::kUInt16);
  EXPECT_EQ(encode_point_value(u16, ByteOrder::kABCD, std::int64_t{-1}).error,
            "-1 is out of range for uint16");
  // After scaling: 7000 in 0.1 steps is raw 70000, more than an int16 holds.
  const auto tenths = make_point(ValueType::kInt16, 0.1);
  EXPECT_EQ(encode_point_value(tenths, ByteOrder::kABCD, std::int64_t{7000}).error,
            "7000 is out of range for int16 (raw value 70000)");
  const auto f32 = make_point(ValueType::kFloat32);
  EXPECT_NE(encode_point_value(f32, ByteOrder::kABCD, 1e40).error, "");
  const auto text = make_point(ValueType::kString, 1.0, 0.0, 2);
  EXPECT_EQ(encode_point_value(text, ByteOrder::kABCD, std::string("12345")).error,
            "expected at most 4 printable ASCII characters, got \"12345\"");
  EXPECT_EQ(encode_point_value(text, ByteOrder::kABCD, std::int64_t{5}).error,
            "expected a string, got 5");
}

}  // namespace
}  // namespace fieldgate::modbus
