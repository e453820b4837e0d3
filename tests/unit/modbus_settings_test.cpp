// The Modbus drivers' settings (drivers/modbus/settings.hpp): the TOML
// spellings of their enums, the registers each type occupies, and the
// accessors that reach a device's or point's settings through config/.
#include "drivers/modbus/settings.hpp"

#include <gtest/gtest.h>

#include "tests/support/modbus_config.hpp"

namespace fieldgate::modbus {
namespace {

TEST(ModbusSettingsTest, SpellsEnumsAsInToml) {
  EXPECT_EQ(to_string(RegisterKind::kDiscreteInput), "discrete_input");
  EXPECT_EQ(to_string(RegisterKind::kHolding), "holding");
  EXPECT_EQ(to_string(ValueType::kUInt64), "uint64");
  EXPECT_EQ(to_string(ValueType::kFloat32), "float32");
  EXPECT_EQ(to_string(ValueType::kBit), "bit");
  EXPECT_EQ(to_string(ByteOrder::kBADC), "BADC");
  EXPECT_EQ(to_string(WriteFunction::kSingle), "single");
  EXPECT_EQ(to_string(WriteFunction::kMultiple), "multiple");
}

TEST(ModbusSettingsTest, CountsRegistersPerType) {
  EXPECT_EQ(register_count(ValueType::kBool, 0), 1);
  EXPECT_EQ(register_count(ValueType::kBit, 0), 1);
  EXPECT_EQ(register_count(ValueType::kInt16, 0), 1);
  EXPECT_EQ(register_count(ValueType::kUInt16, 9), 1);
  EXPECT_EQ(register_count(ValueType::kInt32, 0), 2);
  EXPECT_EQ(register_count(ValueType::kUInt32, 0), 2);
  EXPECT_EQ(register_count(ValueType::kFloat32, 0), 2);
  EXPECT_EQ(register_count(ValueType::kInt64, 0), 4);
  EXPECT_EQ(register_count(ValueType::kUInt64, 0), 4);
  EXPECT_EQ(register_count(ValueType::kFloat64, 0), 4);
  EXPECT_EQ(register_count(ValueType::kString, 8), 8);
  EXPECT_TRUE(is_bit_kind(RegisterKind::kCoil));
  EXPECT_TRUE(is_bit_kind(RegisterKind::kDiscreteInput));
  EXPECT_FALSE(is_bit_kind(RegisterKind::kInput));
  EXPECT_FALSE(is_bit_kind(RegisterKind::kHolding));
}

TEST(ModbusSettingsTest, AConfigWithoutModbusSettingsReadsAsTheDefaults) {
  const config::DeviceConfig device;
  EXPECT_EQ(device_of(device).port, 502);
  EXPECT_EQ(device_of(device).unit_id, 1);
  EXPECT_EQ(device_of(device).max_registers, 125);
  const config::PointConfig point;
  EXPECT_EQ(point_of(point).kind, RegisterKind::kHolding);
  EXPECT_EQ(point_of(point).type, ValueType::kUInt16);
  EXPECT_EQ(point_of(point).byte_order, std::nullopt);
  EXPECT_EQ(point_of(point).write_function, WriteFunction::kSingle);
}

TEST(ModbusSettingsTest, EditCopiesTheSettingsAndLeavesTheOriginalAlone) {
  config::DeviceConfig device = test_support::modbus_device("d", {});
  const config::DeviceConfig before = device;  // shares the settings object
  edit_device_of(device).unit_id = 9;
  EXPECT_EQ(device_of(device).unit_id, 9);
  EXPECT_EQ(device_of(before).unit_id, 1);

  config::PointConfig point =
      test_support::modbus_point("p", RegisterKind::kInput, 3, ValueType::kInt32);
  edit_point_of(point).byte_order = ByteOrder::kDCBA;
  EXPECT_EQ(point_of(point).address, 3);
  EXPECT_EQ(point_of(point).type, ValueType::kInt32);
  EXPECT_EQ(point_of(point).order_or(ByteOrder::kABCD), ByteOrder::kDCBA);
  EXPECT_EQ(point_of(config::PointConfig{}).order_or(ByteOrder::kCDAB), ByteOrder::kCDAB);
}

}  // namespace
}  // namespace fieldgate::modbus
