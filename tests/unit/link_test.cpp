#include "drivers/modbus/link.hpp"

#include <gtest/gtest.h>

namespace fieldgate::modbus {
namespace {

using std::chrono::microseconds;

TEST(ModbusLinkTest, SilentIntervalIsThreeAndAHalfElevenBitCharacters) {
  EXPECT_EQ(ModbusLink::t35(9600), microseconds(4011));  // ≈ 4.0 ms, as the spec's table says
  EXPECT_EQ(ModbusLink::t35(19200), microseconds(2006));
  EXPECT_EQ(ModbusLink::t35(1200), microseconds(32084));
}

TEST(ModbusLinkTest, SilentIntervalIsFixedAbove19200Baud) {
  EXPECT_EQ(ModbusLink::t35(38400), microseconds(1750));
  EXPECT_EQ(ModbusLink::t35(115200), microseconds(1750));
}

}  // namespace
}  // namespace fieldgate::modbus
