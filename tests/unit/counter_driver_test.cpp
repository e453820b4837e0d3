// The proof that a driver plugs in without touching config/, bridge/, gateway/
// or core/: the test-only "counter" driver (tests/support/counter_driver.hpp)
// is registered beside the shipped ones, and a file using it loads, is
// checked (the plan `fieldgate check` prints) and polled end to end.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "config/config.hpp"
#include "drivers/registry.hpp"
#include "tests/support/counter_driver.hpp"

namespace fieldgate::test_support {
namespace {

drivers::DriverRegistry registry_with_counter() {
  auto registry = drivers::make_default_registry();
  register_counter_driver(registry);
  return registry;
}

const std::string kCounter = R"(
[[devices]]
name = "tally"
driver = "counter"
start = 40
poll_interval = "250ms"

[[devices.points]]
name = "slow"

[[devices.points]]
name = "fast"
step = 5
unit = "pcs"
)";

std::string errors_of(const std::string& toml, const drivers::DriverRegistry& registry) {
  try {
    (void)config::load_config_string(toml, "t.toml", registry.schemas());
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loaded without error:\n" << toml;
  return {};
}

TEST(CounterDriverTest, LoadsChecksAndPollsEndToEnd) {
  const auto registry = registry_with_counter();
  const config::Config c = config::load_config_string(kCounter, "t.toml", registry.schemas());
  ASSERT_EQ(c.devices.size(), 1u);
  const auto& device = c.devices[0];
  EXPECT_EQ(device.driver, "counter");
  EXPECT_EQ(dynamic_cast<const CounterDeviceSettings&>(*device.settings).start, 40);
  EXPECT_EQ(device.poll_interval, std::chrono::milliseconds(250));

  drivers::SharedResources shared;
  auto drivers = drivers::create_drivers(c, registry, shared);
  ASSERT_EQ(drivers.size(), 1u);
  // What `fieldgate check` prints for the device: its endpoint and its plan.
  EXPECT_EQ(registry.describe_endpoint(device, c), "counter from 40");
  EXPECT_EQ(drivers[0]->describe_plan(),
            (std::vector<std::string>{"count slow by 1", "count fast by 5"}));

  const auto now = drivers::Clock::now();
  const Batch first = drivers[0]->poll(now, true);
  const Batch second = drivers[0]->poll(now, true);
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(std::get<std::int64_t>(first[0].value), 40);
  EXPECT_EQ(std::get<std::int64_t>(first[1].value), 40);
  EXPECT_EQ(std::get<std::int64_t>(second[0].value), 41);
  EXPECT_EQ(std::get<std::int64_t>(second[1].value), 45);
  EXPECT_EQ(second[1].unit, "pcs");
  EXPECT_EQ(second[1].quality, Quality::kGood);
}

TEST(CounterDriverTest, ItsKeysAreCheckedWithPositions) {
  const auto registry = registry_with_counter();
  EXPECT_EQ(errors_of(R"(
[[devices]]
name = "tally"
driver = "counter"
start = -1
host = "10.0.0.1"

[[devices.points]]
name = "slow"
step = "fast"
kind = "coil"
)",
                      registry),
            "t.toml:5:9: devices[0].start: expected an integer 0..1000000, got -1\n"
            "t.toml:6:8: devices[0].host: only allowed for driver \"modbus-tcp\"\n"
            "t.toml:10:8: devices[0].points[0].step: expected an integer 1..100, got string "
            "\"fast\"\n"
            "t.toml:11:8: devices[0].points[0].kind: only allowed for the Modbus drivers "
            "(\"modbus-tcp\", \"modbus-rtu\")");
}

TEST(CounterDriverTest, OtherDevicesMayNotUseItsKeys) {
  const auto registry = registry_with_counter();
  EXPECT_EQ(errors_of(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
start = 3

[[devices.points]]
name = "p"
kind = "coil"
address = 0
step = 2
)",
                      registry),
            "t.toml:6:9: devices[0].start: only allowed for driver \"counter\"\n"
            "t.toml:12:8: devices[0].points[0].step: only allowed for driver \"counter\"");
  EXPECT_EQ(errors_of(R"(
[[devices]]
name = "tally"
driver = "countr"
start = 3

[[devices.points]]
name = "p"
)",
                      registry),
            // The registered name is offered; the entry is still read (by the
            // first schema, as for any unknown driver) so its other mistakes show.
            "t.toml:4:10: devices[0].driver: expected one of modbus-tcp, modbus-rtu, serial-line, "
            "counter; got \"countr\"\n"
            "t.toml:7:1: devices[0].points[0].kind: missing required key\n"
            "t.toml:7:1: devices[0].points[0].address: missing required key");
}

}  // namespace
}  // namespace fieldgate::test_support
