// load_config() of the publish policy keys: a device's policy, a point's
// override on top of it, and the mistakes worth naming. The exact messages
// of a table full of mistakes are a golden file
// (tests/testcases/publish-policy-bad-values).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A meter whose device keys and point keys are the arguments.
std::string meter(const std::string& device_keys, const std::string& energy_keys) {
  return R"toml(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
)toml" + device_keys +
         R"toml(
  [[devices.points]]
  name = "voltage"
  kind = "input"
  address = 0
  type = "float32"
  [[devices.points]]
  name = "energy"
  kind = "input"
  address = 2
  type = "float32"
)toml" + energy_keys;
}

TEST(ConfigPolicyTest, EveryReadingUnlessTheConfigSaysOtherwise) {
  const Config c = load(meter("", ""));
  const auto& device = c.devices.at(0);
  EXPECT_EQ(device.publish, PublishPolicy{});
  EXPECT_EQ(device.publish.mode, PublishMode::kAlways);
  EXPECT_EQ(device.points.at(0).publish, nullptr);
}

TEST(ConfigPolicyTest, ADevicesPolicyAppliesToItsPointsAndAPointOverridesKeyByKey) {
  const Config c = load(meter(R"toml(publish = "on_change"
deadband = "0.5%"
min_interval = "1s"
max_interval = "5m"
)toml",
                              R"toml(  deadband = 0.01
)toml"));
  const auto& device = c.devices.at(0);
  const PublishPolicy expected_device{PublishMode::kOnChange, Deadband{0.5, true}, seconds(1),
                                      minutes(5)};
  EXPECT_EQ(device.publish, expected_device);
  EXPECT_EQ(device.policy_of(device.points.at(0)), expected_device);
  // The energy point changes its deadband only: the rest is its device's.
  const PublishPolicy expected_energy{PublishMode::kOnChange, Deadband{0.01, false}, seconds(1),
                                      minutes(5)};
  ASSERT_NE(device.points.at(1).publish, nullptr);
  EXPECT_EQ(device.policy_of(device.points.at(1)), expected_energy);
}

TEST(ConfigPolicyTest, APointMayPublishEveryReadingOfAnOnChangeDevice) {
  const Config c = load(meter(R"toml(publish = "on_change"
)toml",
                              R"toml(  publish = "always"
)toml"));
  const auto& device = c.devices.at(0);
  EXPECT_EQ(device.policy_of(device.points.at(1)).mode, PublishMode::kAlways);
  EXPECT_EQ(device.policy_of(device.points.at(0)).mode, PublishMode::kOnChange);
}

TEST(ConfigPolicyTest, ADeadbandMayComeFromTheEnvironment) {
  ::setenv("FIELDGATE_TEST_DEADBAND", "2%", 1);
  const Config c = load(meter(R"toml(publish = "on_change"
deadband = "${FIELDGATE_TEST_DEADBAND}"
)toml",
                              ""));
  EXPECT_EQ(c.devices.at(0).publish.deadband, (Deadband{2.0, true}));
}

TEST(ConfigPolicyTest, KeysThatWouldDoNothingAreNamed) {
  // A deadband or a heartbeat on a point whose device publishes every reading.
  const auto errors = errors_of(meter("", R"toml(  deadband = 1
  max_interval = "1m"
)toml"));
  EXPECT_NE(errors.find("devices[0].points[1].deadband: a deadband needs publish = \"on_change\""),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("devices[0].points[1].max_interval: max_interval needs publish = "
                        "\"on_change\""),
            std::string::npos)
      << errors;
}

TEST(ConfigPolicyTest, AHeartbeatCannotBeShorterThanTheRateLimit) {
  // The point's max_interval against its device's min_interval.
  const auto errors = errors_of(meter(R"toml(publish = "on_change"
min_interval = "10s"
)toml",
                                      R"toml(  max_interval = "5s"
)toml"));
  EXPECT_NE(errors.find("t.toml:19:18: devices[0].points[1].max_interval: expected max_interval "
                        "(5s) to be at least min_interval (10s)"),
            std::string::npos)
      << errors;
}

}  // namespace
}  // namespace fieldgate::config
