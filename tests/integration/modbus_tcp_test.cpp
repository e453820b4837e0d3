// Modbus TCP end to end: fieldgate's driver against the libmodbus simulator of
// a power meter, served in-process on an ephemeral loopback port.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/support/gateway_fixture.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

std::string meter_config(int port) {
  return fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
unit_id = 1

[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
unit = "V"
[[devices.points]]
name = "voltage_l3"
kind = "input"
address = 4
type = "float32"
unit = "V"
[[devices.points]]
name = "active_power_total"
kind = "input"
address = 18
type = "float32"
unit = "W"
[[devices.points]]
name = "frequency"
kind = "input"
address = 22
type = "float32"
unit = "Hz"
[[devices.points]]
name = "temperature"
kind = "input"
address = 30
type = "int16"
scale = 0.1
unit = "°C"
[[devices.points]]
name = "running"
kind = "input"
address = 31
type = "bit"
bit = 0
[[devices.points]]
name = "energy_import"
kind = "holding"
address = 0
type = "uint64"
unit = "Wh"
[[devices.points]]
name = "energy_import_kwh"
kind = "holding"
address = 6
type = "float64"
unit = "kWh"
[[devices.points]]
name = "voltage_l1_cdab"
kind = "holding"
address = 10
type = "float32"
byte_order = "CDAB"
[[devices.points]]
name = "ct_ratio"
kind = "holding"
address = 12
type = "uint16"
[[devices.points]]
name = "serial_number"
kind = "holding"
address = 20
type = "string"
count = 8
[[devices.points]]
name = "relay_2"
kind = "coil"
address = 1
[[devices.points]]
name = "door_closed"
kind = "discrete_input"
address = 0
)",
                     port);
}

TEST(ModbusTcpTest, ReadsThePowerMeterSimulatorThroughTheCoalescedPlan) {
  SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", 0}));
  InlineGateway gateway(meter_config(sim.server().port()));

  const auto r = gateway.read_all();
  for (const auto& [key, reading] : r) {
    EXPECT_EQ(reading.quality, Quality::kGood) << key << ": " << reading.error;
  }
  ASSERT_EQ(r.size(), 13u);
  EXPECT_GE(value_of<double>(r, "meter/voltage_l1"), 220.0);
  EXPECT_LE(value_of<double>(r, "meter/voltage_l1"), 240.0);
  EXPECT_GE(value_of<double>(r, "meter/voltage_l3"), 220.0);
  EXPECT_NEAR(value_of<double>(r, "meter/frequency"), 50.0, 0.1);
  EXPECT_GT(value_of<double>(r, "meter/active_power_total"), 0.0);
  EXPECT_NEAR(value_of<double>(r, "meter/temperature"), 35.0, 15.0);
  EXPECT_TRUE(value_of<bool>(r, "meter/running"));
  EXPECT_EQ(value_of<std::int64_t>(r, "meter/ct_ratio"), 100);
  EXPECT_EQ(value_of<std::string>(r, "meter/serial_number"), "FG-PM-000042");
  EXPECT_TRUE(value_of<bool>(r, "meter/relay_2"));
  EXPECT_TRUE(value_of<bool>(r, "meter/door_closed"));
  EXPECT_EQ(r.at("meter/voltage_l1").unit, "V");
  // One holding request covers both the uint64 Wh counter and the float64 kWh
  // copy, so they describe the same instant.
  EXPECT_NEAR(value_of<double>(r, "meter/energy_import_kwh"),
              static_cast<double>(value_of<std::int64_t>(r, "meter/energy_import")) / 1000.0, 1e-3);
  // The CDAB copy of voltage_l1 sits in another table; it matches within one model step.
  EXPECT_NEAR(value_of<double>(r, "meter/voltage_l1_cdab"), value_of<double>(r, "meter/voltage_l1"),
              5.0);

  // input 0..31 (gaps ≤ 16), holding 0..27, one coil request, one discrete-input request.
  const auto& health = gateway.driver(0).health();
  EXPECT_EQ(gateway.driver(0).describe_plan().size(), 4u);
  EXPECT_EQ(health.requests, 4u);
  EXPECT_EQ(sim.server().requests_served(), 4u);
  EXPECT_TRUE(health.connected);
  EXPECT_GT(health.last_good_ms, 0);
}

TEST(ModbusTcpTest, EnergyCounterNeverDecreasesAcrossPolls) {
  SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", 0}));
  InlineGateway gateway(meter_config(sim.server().port()));
  std::int64_t previous = -1;
  for (int i = 0; i < 5; ++i) {
    const auto r = gateway.read_all();
    const auto energy = value_of<std::int64_t>(r, "meter/energy_import");
    EXPECT_GE(energy, previous);
    previous = energy;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
}

TEST(ModbusTcpTest, ReconnectsAfterTheServerComesBack) {
  int port = 0;
  std::string toml;
  {
    SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", 0}));
    port = sim.server().port();
    toml = meter_config(port);
  }
  // Nobody listens on the port now.
  InlineGateway gateway(toml);
  auto r = gateway.read_all();
  EXPECT_EQ(r.at("meter/voltage_l1").quality, Quality::kNoConnection);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.at("meter/voltage_l1").value));
  EXPECT_EQ(gateway.driver(0).health().consecutive_failures, 1);
  EXPECT_FALSE(gateway.driver(0).health().connected);
  EXPECT_GE(gateway.driver(0).health().connection_errors, 1u);

  // The same port serves again: the driver reconnects on its own.
  SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", port}));
  r = gateway.read_all();
  EXPECT_EQ(value_of<std::int64_t>(r, "meter/ct_ratio"), 100);
  EXPECT_EQ(gateway.driver(0).health().consecutive_failures, 0);
  EXPECT_TRUE(gateway.driver(0).health().last_error.empty());
}

// bench/run's fleet meters: the holding table padded to the size asked for,
// the model's own registers unchanged, a read past the padding still refused.
TEST(ModbusTcpTest, SimulatorServesTheHoldingRegistersAskedFor) {
  SimThread sim(sim::ModbusSimServer::tcp({"127.0.0.1", 0, 50}));
  InlineGateway gateway(fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
unit_id = 1

[[devices.points]]
name = "ct_ratio"
kind = "holding"
address = 12
[[devices.points]]
name = "r49"
kind = "holding"
address = 49
[[devices.points]]
name = "r200"
kind = "holding"
address = 200
)",
                                    sim.server().port()));
  const auto r = gateway.read_all();
  EXPECT_EQ(value_of<std::int64_t>(r, "meter/ct_ratio"), 100);
  EXPECT_EQ(value_of<std::int64_t>(r, "meter/r49"), 49);
  EXPECT_NE(r.at("meter/r200").quality, Quality::kGood);
}

}  // namespace
}  // namespace fieldgate::testing
