// [modbus_server]: defaults, the loopback rule, the unit map, and the
// addresses it is written with (config/loader_modbus_server.cpp,
// config/net_address.cpp).
#include <gtest/gtest.h>

#include <string>

#include "config/net_address.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

const std::string kDevices = R"(
[[devices]]
name = "meter"
driver = "modbus-rtu"
bus = "rs485"
unit_id = 3
  [[devices.points]]
  name = "voltage"
  kind = "input"
  address = 0
  type = "uint16"

[[devices]]
name = "inverter"
driver = "modbus-tcp"
host = "127.0.0.1"
  [[devices.points]]
  name = "power"
  kind = "holding"
  address = 10
  type = "uint16"

[[buses]]
name = "rs485"
port = "/dev/ttyUSB0"
)";

Config load(const std::string& server) {
  return test_support::load_config_string(kDevices + server, "t.toml");
}

TEST(ModbusServerConfigTest, AbsentTableMeansNoServer) {
  EXPECT_FALSE(load("").modbus_server.has_value());
}

TEST(ModbusServerConfigTest, DefaultsListenOnLoopbackOnly) {
  const auto config = load("[modbus_server]\n");
  ASSERT_TRUE(config.modbus_server);
  const auto& s = *config.modbus_server;
  EXPECT_EQ(s.listen, "127.0.0.1:1502");
  EXPECT_EQ(s.listen_port, 1502);
  EXPECT_TRUE(s.listen_address.is_loopback());
  EXPECT_EQ(s.max_clients, 16);
  EXPECT_EQ(s.idle_timeout, std::chrono::seconds(60));
  EXPECT_TRUE(s.allow.empty());
  EXPECT_FALSE(s.max_age.has_value());
  EXPECT_FALSE(s.passthrough);
}

TEST(ModbusServerConfigTest, ReadsEveryKey) {
  const auto config = load(R"(
[modbus_server]
listen = "0.0.0.0:502"
max_clients = 4
idle_timeout = "30s"
allow = ["192.168.1.0/24", "10.1.2.3", "fd00::/8"]
max_age = "5s"
passthrough = true
passthrough_timeout = "500ms"
[modbus_server.units]
inverter = 7
meter = 9
)");
  const auto& s = *config.modbus_server;
  EXPECT_EQ(s.listen_port, 502);
  EXPECT_FALSE(s.listen_address.is_loopback());
  EXPECT_EQ(s.max_clients, 4);
  EXPECT_EQ(s.idle_timeout, std::chrono::seconds(30));
  ASSERT_EQ(s.allow.size(), 3U);
  EXPECT_TRUE(s.allow[0].contains(*parse_ip("192.168.1.77")));
  EXPECT_FALSE(s.allow[0].contains(*parse_ip("192.168.2.77")));
  EXPECT_TRUE(s.allow[1].contains(*parse_ip("10.1.2.3")));
  EXPECT_FALSE(s.allow[1].contains(*parse_ip("10.1.2.4")));
  EXPECT_TRUE(s.allow[2].contains(*parse_ip("fd12::1")));
  EXPECT_EQ(s.max_age, std::chrono::seconds(5));
  EXPECT_TRUE(s.passthrough);
  EXPECT_EQ(s.passthrough_timeout, std::chrono::milliseconds(500));
  ASSERT_EQ(s.units.size(), 2U);
  EXPECT_EQ(s.units[0].device, "inverter");
  EXPECT_EQ(s.units[0].unit_id, 7);
}

TEST(ModbusServerConfigTest, AnyOtherAddressNeedsAnAllowList) {
  const auto errors = errors_of(kDevices + "[modbus_server]\nlisten = \"0.0.0.0:1502\"\n");
  EXPECT_NE(errors.find("modbus_server.listen: listening on \"0.0.0.0:1502\" needs an explicit "
                        "allow list"),
            std::string::npos)
      << errors;
}

TEST(ModbusServerConfigTest, BadValuesAreReportedWithTheirKeys) {
  const auto errors = errors_of(kDevices + R"(
[modbus_server]
listen = "localhost:1502"
max_clients = 0
idle_timeout = "0s"
allow = ["192.168.1.0/33"]
max_age = "0s"
passthrough = true
passthrough_timeout = "5ms"
[modbus_server.units]
pump = 4
meter = 300
inverter = 3
)");
  for (const auto* expected :
       {"modbus_server.listen: expected an IP address and a port",
        "modbus_server.max_clients: expected an integer 1..1024",
        "modbus_server.idle_timeout: expected a duration from \"1s\" to \"1h\"",
        "modbus_server.allow: expected an IP address or network",
        "modbus_server.max_age: expected a duration from \"1ms\" to \"1d\"",
        "modbus_server.passthrough_timeout: expected a duration from \"10ms\" to \"1m\"",
        "modbus_server.units.pump: no device named \"pump\"",
        "modbus_server.units.meter: expected an integer 1..247"}) {
    EXPECT_NE(errors.find(expected), std::string::npos) << expected << "\n" << errors;
  }
}

TEST(ModbusServerConfigTest, TwoDevicesCannotShareAUnitId) {
  const auto errors = errors_of(kDevices + "[modbus_server.units]\nmeter = 5\ninverter = 5\n");
  EXPECT_NE(errors.find("unit id 5 already answers for device"), std::string::npos) << errors;
}

TEST(NetAddressTest, ParsesListenAddresses) {
  const auto v4 = parse_listen("10.0.0.1:502");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->port, 502);
  EXPECT_EQ(to_string(v4->address), "10.0.0.1");
  const auto v6 = parse_listen("[::1]:1502");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->address.is_loopback());
  EXPECT_EQ(to_string(v6->address), "::1");
  for (const auto* bad : {"", "1502", "::1:1502", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:x",
                          "host:502", "[10.0.0.1]:502", "10.0.0.1:502 "}) {
    EXPECT_FALSE(parse_listen(bad)) << bad;
  }
}

TEST(NetAddressTest, NetworksMatchByPrefix) {
  const auto net = parse_network("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(*parse_ip("10.200.1.1")));
  EXPECT_FALSE(net->contains(*parse_ip("11.0.0.1")));
  // A client on a dual-stack socket is seen as ::ffff:10.1.1.1.
  EXPECT_TRUE(net->contains(*parse_ip("::ffff:10.1.1.1")));
  EXPECT_TRUE(parse_network("0.0.0.0/0")->contains(*parse_ip("8.8.8.8")));
  for (const auto* bad : {"10.0.0.0/", "10.0.0.0/-1", "::/129", "10.0.0", "x"}) {
    EXPECT_FALSE(parse_network(bad)) << bad;
  }
  EXPECT_TRUE(parse_ip("127.0.0.5")->is_loopback());
  EXPECT_FALSE(parse_ip("::2")->is_loopback());
}

}  // namespace
}  // namespace fieldgate::config
