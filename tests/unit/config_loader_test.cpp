// load_config(): the happy path, every key and default, ${ENV} in values,
// and the shape of ConfigIssue / ConfigError. Error cases with exact messages live in
// tests/testcases/ (config_golden_test.cpp).
#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "drivers/modbus/settings.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

using modbus::ByteOrder;
using modbus::RegisterKind;
using modbus::ValueType;
using std::chrono::milliseconds;

// Every key the schema knows, set to a value different from its default.
constexpr const char* kFullConfig = R"toml(
[gateway]
name = "plant-3.gw"
log_level = "debug"

[[buses]]
name = "rs485-1"
port = "${FIELDGATE_TEST_TTY:-/dev/ttyUSB9}"
baud = 19200
parity = "even"
data_bits = 7
stop_bits = 2
mode = "rs485"
inter_frame_delay = "5ms"

[[buses]]
name = "rs232"
port = "/dev/ttyS0"

[[devices]]
name = "meter-tcp"
driver = "modbus-tcp"
host = "${FIELDGATE_TEST_HOST}"
port = "${FIELDGATE_TEST_MB_PORT:-1502}"
unit_id = 0
poll_interval = "250ms"
response_timeout = "1.5s"
byte_timeout = "100ms"
retries = 3
byte_order = "CDAB"
max_gap = 0
max_registers = 64
max_bits = 512
single_point_reads = true
backoff_max = "5m"

  [[devices.points]]
  name = "voltage"
  kind = "input"
  address = 0
  type = "float32"
  scale = 2
  offset = -1.5
  unit = "V"
  interval = "1h"
  byte_order = "DCBA"

  [[devices.points]]
  name = "alarm"
  kind = "holding"
  address = 31
  type = "bit"
  bit = 15

  [[devices.points]]
  name = "serial"
  kind = "holding"
  address = 20
  type = "string"
  count = 8
  unit = "cost in $$"

  [[devices.points]]
  name = "raw"
  kind = "holding"
  address = 65535

  [[devices.points]]
  name = "relay"
  kind = "coil"
  address = 65535

  [[devices.points]]
  name = "door"
  kind = "discrete_input"
  address = 1
  type = "bool"

[[devices]]
name = "meter-rtu"
driver = "modbus-rtu"
bus = "rs485-1"
unit_id = 247

  [[devices.points]]
  name = "energy"
  kind = "holding"
  address = 65532
  type = "uint64"
  scale = 0.001
)toml";

class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("FIELDGATE_TEST_TTY");
    ::unsetenv("FIELDGATE_TEST_MB_PORT");
    ::setenv("FIELDGATE_TEST_HOST", "192.0.2.10", 1);
  }
  void TearDown() override {
    ::unsetenv("FIELDGATE_TEST_HOST");
    ::unsetenv("FIELDGATE_TEST_MB_PORT");
  }
};

TEST_F(ConfigLoaderTest, LoadsEveryKey) {
  const Config c = fieldgate::test_support::load_config_string(kFullConfig, "full.toml");
  EXPECT_EQ(c.path, "full.toml");
  EXPECT_EQ(c.gateway.name, "plant-3.gw");
  EXPECT_EQ(c.gateway.log_level, "debug");

  ASSERT_EQ(c.buses.size(), 2u);
  const BusConfig& bus = c.buses[0];
  EXPECT_EQ(bus.name, "rs485-1");
  EXPECT_EQ(bus.port, "/dev/ttyUSB9");  // ${...:-default}, variable unset
  EXPECT_EQ(bus.baud, 19200);
  EXPECT_EQ(bus.parity, Parity::kEven);
  EXPECT_EQ(bus.data_bits, 7);
  EXPECT_EQ(bus.stop_bits, 2);
  EXPECT_EQ(bus.mode, SerialMode::kRs485);
  EXPECT_EQ(bus.inter_frame_delay, milliseconds{5});
  EXPECT_EQ(bus.pos.line, 6);
  EXPECT_EQ(bus.pos.column, 1);

  ASSERT_EQ(c.devices.size(), 2u);
  const DeviceConfig& tcp = c.devices[0];
  EXPECT_EQ(tcp.name, "meter-tcp");
  EXPECT_EQ(tcp.driver, "modbus-tcp");
  EXPECT_EQ(modbus::device_of(tcp).host, "192.0.2.10");  // ${...} without default, variable set
  EXPECT_EQ(modbus::device_of(tcp).port, 1502);  // integer key from a ${...:-default} string
  EXPECT_EQ(modbus::device_of(tcp).unit_id, 0);
  EXPECT_EQ(tcp.poll_interval, milliseconds{250});
  EXPECT_EQ(tcp.response_timeout, milliseconds{1500});
  EXPECT_EQ(modbus::device_of(tcp).byte_timeout, milliseconds{100});
  EXPECT_EQ(tcp.retries, 3);
  EXPECT_EQ(modbus::device_of(tcp).byte_order, ByteOrder::kCDAB);
  EXPECT_EQ(modbus::device_of(tcp).max_gap, 0);
  EXPECT_EQ(modbus::device_of(tcp).max_registers, 64);
  EXPECT_EQ(modbus::device_of(tcp).max_bits, 512);
  EXPECT_TRUE(modbus::device_of(tcp).single_point_reads);
  EXPECT_EQ(tcp.backoff_max, milliseconds{5 * 60 * 1000});
  EXPECT_TRUE(modbus::device_of(tcp).bus.empty());

  ASSERT_EQ(tcp.points.size(), 6u);
  const PointConfig& voltage = tcp.points[0];
  EXPECT_EQ(voltage.name, "voltage");
  EXPECT_EQ(modbus::point_of(voltage).kind, RegisterKind::kInput);
  EXPECT_EQ(modbus::point_of(voltage).address, 0);
  EXPECT_EQ(modbus::point_of(voltage).type, ValueType::kFloat32);
  EXPECT_DOUBLE_EQ(voltage.scale, 2.0);  // an integer is a valid number
  EXPECT_DOUBLE_EQ(voltage.offset, -1.5);
  EXPECT_EQ(voltage.unit, "V");
  EXPECT_EQ(voltage.interval, milliseconds{60 * 60 * 1000});
  EXPECT_EQ(modbus::point_of(voltage).byte_order, ByteOrder::kDCBA);
  EXPECT_EQ(modbus::point_of(voltage).order_or(modbus::device_of(tcp).byte_order),
            ByteOrder::kDCBA);
  EXPECT_EQ(tcp.interval_of(voltage), milliseconds{60 * 60 * 1000});
  EXPECT_EQ(voltage.pos.line, 37);
  EXPECT_EQ(voltage.pos.column, 3);

  const PointConfig& alarm = tcp.points[1];
  EXPECT_EQ(modbus::point_of(alarm).type, ValueType::kBit);
  EXPECT_EQ(modbus::point_of(alarm).bit, 15);
  EXPECT_EQ(modbus::point_of(alarm).byte_order, std::nullopt);
  EXPECT_EQ(modbus::point_of(alarm).order_or(modbus::device_of(tcp).byte_order), ByteOrder::kCDAB);
  EXPECT_EQ(tcp.interval_of(alarm), milliseconds{250});

  const PointConfig& serial = tcp.points[2];
  EXPECT_EQ(modbus::point_of(serial).type, ValueType::kString);
  EXPECT_EQ(modbus::point_of(serial).count, 8);
  EXPECT_EQ(serial.unit, "cost in $");  // $$ escape

  EXPECT_EQ(modbus::point_of(tcp.points[3]).type, ValueType::kUInt16);  // default for registers
  EXPECT_EQ(modbus::point_of(tcp.points[3]).address, 65535);          // last address, one register
  EXPECT_EQ(modbus::point_of(tcp.points[4]).type, ValueType::kBool);  // default for coils
  EXPECT_EQ(modbus::point_of(tcp.points[4]).kind, RegisterKind::kCoil);
  EXPECT_EQ(modbus::point_of(tcp.points[5]).kind, RegisterKind::kDiscreteInput);
  EXPECT_EQ(modbus::point_of(tcp.points[5]).type, ValueType::kBool);

  const DeviceConfig& rtu = c.devices[1];
  EXPECT_EQ(rtu.driver, "modbus-rtu");
  EXPECT_EQ(modbus::device_of(rtu).bus, "rs485-1");
  EXPECT_EQ(modbus::device_of(rtu).unit_id, 247);
  ASSERT_EQ(rtu.points.size(), 1u);
  EXPECT_EQ(modbus::point_of(rtu.points[0]).type, ValueType::kUInt64);
  EXPECT_EQ(modbus::point_of(rtu.points[0]).address, 65532);  // 65532..65535 fits exactly
  EXPECT_DOUBLE_EQ(rtu.points[0].scale, 0.001);

  EXPECT_EQ(c.find_bus("rs485-1"), &c.buses[0]);
  EXPECT_EQ(c.find_bus("nope"), nullptr);
  EXPECT_EQ(c.find_device("meter-rtu"), &c.devices[1]);
  EXPECT_EQ(c.find_device("nope"), nullptr);
}

TEST_F(ConfigLoaderTest, AppliesDefaults) {
  const Config c = fieldgate::test_support::load_config_string(R"toml(
[[buses]]
name = "b"
port = "/dev/ttyUSB0"

[[devices]]
name = "d"
driver = "modbus-rtu"
bus = "b"
points = [{ name = "p", kind = "holding", address = 7 }]
)toml",
                                                               "t.toml");
  EXPECT_EQ(c.gateway.name, "fieldgate");
  EXPECT_EQ(c.gateway.log_level, "info");
  const BusConfig& b = c.buses.at(0);
  EXPECT_EQ(b.baud, 9600);
  EXPECT_EQ(b.parity, Parity::kNone);
  EXPECT_EQ(b.data_bits, 8);
  EXPECT_EQ(b.stop_bits, 1);
  EXPECT_EQ(b.mode, SerialMode::kRs232);
  EXPECT_EQ(b.inter_frame_delay, std::nullopt);
  const DeviceConfig& d = c.devices.at(0);
  // The defaults below are the loader's, not device_of()'s fallback for a
  // device without Modbus settings.
  ASSERT_NE(dynamic_cast<const modbus::ModbusDeviceConfig*>(d.settings.get()), nullptr);
  ASSERT_NE(dynamic_cast<const modbus::ModbusPointConfig*>(d.points.at(0).settings.get()), nullptr);
  EXPECT_EQ(modbus::device_of(d).unit_id, 1);
  EXPECT_EQ(modbus::device_of(d).port, 502);
  EXPECT_EQ(d.poll_interval, milliseconds{1000});
  EXPECT_EQ(d.response_timeout, milliseconds{1000});
  EXPECT_EQ(modbus::device_of(d).byte_timeout, milliseconds{500});
  EXPECT_EQ(d.retries, 1);
  EXPECT_EQ(modbus::device_of(d).byte_order, ByteOrder::kABCD);
  EXPECT_EQ(modbus::device_of(d).max_gap, 16);
  EXPECT_EQ(modbus::device_of(d).max_registers, 125);
  EXPECT_EQ(modbus::device_of(d).max_bits, 2000);
  EXPECT_FALSE(modbus::device_of(d).single_point_reads);
  EXPECT_EQ(d.backoff_max, milliseconds{60000});
  const PointConfig& p = d.points.at(0);
  EXPECT_EQ(modbus::point_of(p).type, ValueType::kUInt16);
  EXPECT_EQ(modbus::point_of(p).address, 7);
  EXPECT_DOUBLE_EQ(p.scale, 1.0);
  EXPECT_DOUBLE_EQ(p.offset, 0.0);
  EXPECT_EQ(p.unit, "");
  EXPECT_EQ(p.interval, std::nullopt);
  EXPECT_EQ(modbus::point_of(p).byte_order, std::nullopt);
  EXPECT_EQ(p.pos.line, 10);
  EXPECT_EQ(p.pos.column, 11);
}

TEST_F(ConfigLoaderTest, SubstitutesEnvironmentInEveryKindOfValue) {
  ::setenv("FIELDGATE_TEST_MB_PORT", "15020", 1);
  ::setenv("FIELDGATE_TEST_SCALE", "0.5", 1);
  ::setenv("FIELDGATE_TEST_BOOL", "true", 1);
  ::setenv("FIELDGATE_TEST_TYPE", "int32", 1);
  const Config c = fieldgate::test_support::load_config_string(R"toml(
[[devices]]
name = "${FIELDGATE_TEST_NAME:-meter}"
driver = "modbus-tcp"
host = "h"
port = "${FIELDGATE_TEST_MB_PORT:-502}"
single_point_reads = "${FIELDGATE_TEST_BOOL}"
poll_interval = "${FIELDGATE_TEST_POLL:-2s}"
  [[devices.points]]
  name = "p"
  kind = "holding"
  address = "${FIELDGATE_TEST_ADDR:-+40}"
  type = "${FIELDGATE_TEST_TYPE}"
  scale = "${FIELDGATE_TEST_SCALE}"
)toml",
                                                               "t.toml");
  ::unsetenv("FIELDGATE_TEST_SCALE");
  ::unsetenv("FIELDGATE_TEST_BOOL");
  ::unsetenv("FIELDGATE_TEST_TYPE");
  const DeviceConfig& d = c.devices.at(0);
  EXPECT_EQ(d.name, "meter");
  EXPECT_EQ(modbus::device_of(d).port, 15020);
  EXPECT_TRUE(modbus::device_of(d).single_point_reads);
  EXPECT_EQ(d.poll_interval, milliseconds{2000});
  EXPECT_EQ(modbus::point_of(d.points.at(0)).address, 40);
  EXPECT_EQ(modbus::point_of(d.points.at(0)).type, ValueType::kInt32);
  EXPECT_DOUBLE_EQ(d.points.at(0).scale, 0.5);
}

TEST_F(ConfigLoaderTest, EnvironmentValuesAreRangeCheckedLikeLiterals) {
  ::setenv("FIELDGATE_TEST_MB_PORT", "70000", 1);
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "d"
driver = "modbus-tcp"
host = "h"
port = "${FIELDGATE_TEST_MB_PORT}"
points = [{ name = "p", kind = "coil", address = 0 }]
)toml"),
            "t.toml:6:8: devices[0].port: expected an integer 1..65535, got 70000");
}

TEST_F(ConfigLoaderTest, AQuotedNumberWithoutReferenceIsATypeError) {
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "d"
driver = "modbus-tcp"
host = "h"
port = "502"
unit_id = "x"
points = [{ name = "p", kind = "coil", address = 0 }]
)toml"),
            "t.toml:6:8: devices[0].port: expected an integer 1..65535, got string \"502\" "
            "(remove the quotes)\n"
            "t.toml:7:11: devices[0].unit_id: expected an integer 0..247 or 255, got string \"x\"");
}

TEST_F(ConfigLoaderTest, TcpUnitIdIsWhatLibmodbusCanSend) {
  // libmodbus refuses 248..254 on TCP; 255 is the usual "no gateway" unit id.
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "d"
driver = "modbus-tcp"
host = "h"
unit_id = 250
points = [{ name = "p", kind = "coil", address = 0 }]
)toml"),
            "t.toml:6:11: devices[0].unit_id: expected an integer 0..247 or 255, got 250");
  const Config c = fieldgate::test_support::load_config_string(R"toml(
[[devices]]
name = "d"
driver = "modbus-tcp"
host = "h"
unit_id = 255
points = [{ name = "p", kind = "coil", address = 0 }]
)toml",
                                                               "t.toml");
  EXPECT_EQ(modbus::device_of(c.devices.at(0)).unit_id, 255);
}

TEST_F(ConfigLoaderTest, ReportsMissingTopLevelPieces) {
  EXPECT_EQ(errors_of(""),
            "t.toml:1:1: devices: missing required key (a configuration needs at least one "
            "[[devices]] entry)");
  EXPECT_EQ(errors_of("devices = []\n"),
            "t.toml:1:11: devices: expected at least one [[devices]] entry, got an empty array");
  EXPECT_EQ(errors_of("[devices]\nname = \"d\"\n"),
            "t.toml:1:1: devices: expected an array of tables ([[devices]]), got table");
  EXPECT_EQ(errors_of("gateway = 1\ndevices = [1]\n"),
            "t.toml:1:11: gateway: expected a table ([gateway]), got integer 1\n"
            "t.toml:2:12: devices[0]: expected a table, got integer 1");
}

TEST_F(ConfigLoaderTest, LoadsFromAFileAndNamesItInIssues) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("fieldgate-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string good = (dir / "good.toml").string();
  const std::string bad = (dir / "bad.toml").string();
  std::ofstream(good) << "[[devices]]\nname = \"d\"\ndriver = \"modbus-tcp\"\nhost = \"h\"\n"
                         "points = [{ name = \"p\", kind = \"input\", address = 1 }]\n";
  std::ofstream(bad) << "[gateway]\nnmae = \"x\"\n";

  const Config c = fieldgate::test_support::load_config(good);
  EXPECT_EQ(c.path, good);
  EXPECT_EQ(modbus::device_of(c.devices.at(0)).host, "h");

  try {
    (void)fieldgate::test_support::load_config(bad);
    ADD_FAILURE() << "bad.toml loaded";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.issues().size(), 2u);
    EXPECT_EQ(e.issues()[0].to_string(),
              bad +
                  ":1:1: devices: missing required key (a configuration needs at least one "
                  "[[devices]] entry)");
    EXPECT_EQ(e.issues()[1].to_string(), bad +
                                             ":2:1: gateway.nmae: unknown key (did you mean "
                                             "\"name\"?)");
  }

  const std::string missing = (dir / "missing.toml").string();
  try {
    (void)fieldgate::test_support::load_config(missing);
    ADD_FAILURE() << "missing.toml loaded";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), (missing + ": cannot open the file: No such file or directory").c_str());
  }
  try {
    (void)fieldgate::test_support::load_config(dir.string());
    ADD_FAILURE() << "a directory loaded";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(
        e.what(),
        (dir.string() + ": cannot read the file: it is a directory, not a regular file").c_str());
  }
  std::filesystem::remove_all(dir);
}

TEST(ConfigIssueTest, FormatsWithAndWithoutPositionAndKey) {
  EXPECT_EQ((ConfigIssue{"g.toml", {3, 7}, "buses[0].baud", "boom"}).to_string(),
            "g.toml:3:7: buses[0].baud: boom");
  EXPECT_EQ((ConfigIssue{"g.toml", {1, 5}, "", "syntax"}).to_string(), "g.toml:1:5: syntax");
  EXPECT_EQ((ConfigIssue{"g.toml", {}, "", "cannot open"}).to_string(), "g.toml: cannot open");
  EXPECT_EQ((ConfigIssue{"g.toml", {}, "devices", "x"}).to_string(), "g.toml: devices: x");
}

TEST(ConfigIssueTest, ErrorJoinsEveryIssueWithNewlines) {
  const ConfigError e({{"a", {1, 1}, "k", "one"}, {"a", {2, 3}, "", "two"}});
  EXPECT_STREQ(e.what(), "a:1:1: k: one\na:2:3: two");
  EXPECT_EQ(e.issues().size(), 2u);
}

TEST(ConfigNamesTest, SpellsEnumsAsInToml) {
  EXPECT_EQ(to_string(Parity::kOdd), "odd");
  EXPECT_EQ(to_string(SerialMode::kRs485), "rs485");
}

}  // namespace
}  // namespace fieldgate::config
