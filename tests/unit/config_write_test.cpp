// The write keys of a point ([mqtt] command settings, writable, min, max,
// allowed, write_function, write_template): what a valid file gives, and the
// mistakes the golden cases (tests/testcases/write-*) do not cover.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "drivers/modbus/settings.hpp"
#include "drivers/serial/settings.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

// The meter's [[devices]] table; each test appends the points it needs.
const std::string kMeterTable = R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
)";

TEST(ConfigWriteTest, PointsAreReadOnlyByDefault) {
  const auto c = fieldgate::test_support::load_config_string(kMeterTable + R"(
[[devices.points]]
name = "relay_1"
kind = "coil"
address = 0
)",
                                                             "t.toml");
  const auto& w = c.devices[0].points[0].write();
  EXPECT_FALSE(w.writable);
  EXPECT_FALSE(w.min);
  EXPECT_TRUE(w.allowed.empty());
  EXPECT_EQ(c.mqtt.command_qos, 1);
  EXPECT_EQ(c.mqtt.command_max_age, Duration(10000));
  EXPECT_EQ(c.mqtt.command_max_size, 64u * 1024);
  EXPECT_EQ(c.mqtt.command_suffix, "set");
  EXPECT_EQ(c.mqtt.result_suffix, "result");
}

TEST(ConfigWriteTest, ReadsEveryWriteKey) {
  const auto c = fieldgate::test_support::load_config_string(R"(
[mqtt]
command_qos = 2
command_max_age = "3s"
command_max_size = "4KiB"
command_suffix = "cmd"
result_suffix = "ack"
)" + kMeterTable + R"(
[[devices.points]]
name = "setpoint"
kind = "holding"
address = 15
type = "int16"
scale = 0.1
writable = true
min = -5
max = 30.5
write_function = "multiple"
[[devices.points]]
name = "mode"
kind = "holding"
address = 16
writable = true
allowed = [0, 1, 2]
[[devices.points]]
name = "reset"
kind = "coil"
address = 8
writable = true
allowed = [true]
)",
                                                             "t.toml");
  EXPECT_EQ(c.mqtt.command_qos, 2);
  EXPECT_EQ(c.mqtt.command_max_age, Duration(3000));
  EXPECT_EQ(c.mqtt.command_max_size, 4096u);
  EXPECT_EQ(c.mqtt.command_suffix, "cmd");
  EXPECT_EQ(c.mqtt.result_suffix, "ack");
  const auto& setpoint = c.devices[0].points[0].write();
  EXPECT_TRUE(setpoint.writable);
  EXPECT_EQ(setpoint.min, -5.0);
  EXPECT_EQ(setpoint.max, 30.5);
  EXPECT_EQ(modbus::point_of(c.devices[0].points[0]).write_function,
            modbus::WriteFunction::kMultiple);
  const auto& mode = c.devices[0].points[1].write();
  ASSERT_EQ(mode.allowed.size(), 3u);
  EXPECT_EQ(std::get<double>(mode.allowed[2]), 2.0);
  EXPECT_EQ(modbus::point_of(c.devices[0].points[1]).write_function,
            modbus::WriteFunction::kSingle);
  EXPECT_EQ(std::get<bool>(c.devices[0].points[2].write().allowed.at(0)), true);
}

TEST(ConfigWriteTest, SerialLinePointWithATemplate) {
  const auto c = fieldgate::test_support::load_config_string(R"(
[[devices]]
name = "scale"
driver = "serial-line"
port = "/dev/ttyUSB0"
[[devices.points]]
name = "tare"
field = 0
writable = true
min = 0
write_template = "T {value}\r\n"
)",
                                                             "t.toml");
  EXPECT_EQ(serial::point_of(c.devices[0].points[0]).write_template, "T {value}\r\n");
  EXPECT_EQ(c.devices[0].points[0].write().min, 0.0);
}

TEST(ConfigWriteTest, DeviceJsonCommandTopicsAreCheckedToo) {
  // Commands of a device-json device go to "<device topic>/<point>/set"; a
  // command topic the gateway publishes to would feed it its own messages.
  EXPECT_EQ(errors_of(R"(
[gateway]
name = "gw"
[mqtt]
payload = "device-json"
device_topic = "{gateway}/{device}"
status_topic = "{gateway}/meter/relay/set"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
[[devices.points]]
name = "relay"
kind = "coil"
address = 0
writable = true
)"),
            "t.toml:6:16: mqtt.device_topic: the status topic and devices[0].points[0] "
            "(meter/relay)'s command topic both publish to \"gw/meter/relay/set\"");
}

TEST(ConfigWrite, AReadOnlyPointHoldsNoWriteSettingsAndACopyEditsItsOwn) {
  PointConfig meter;
  EXPECT_EQ(meter.write_settings, nullptr);
  EXPECT_FALSE(meter.write().writable);
  meter.set_write(WriteConfig{});
  EXPECT_EQ(meter.write_settings, nullptr) << "nothing set: nothing held";

  PointConfig setpoint;
  setpoint.edit_write().writable = true;
  setpoint.edit_write().max = 30;
  PointConfig copy = setpoint;  // shares the settings until one is edited
  copy.edit_write().max = 50;
  EXPECT_EQ(setpoint.write().max, 30.0);
  EXPECT_EQ(copy.write().max, 50.0);
  EXPECT_TRUE(copy.write().writable);
}

}  // namespace
}  // namespace fieldgate::config
