// CommandStartup: the one start-up of `check`, `poll` and `write` (load the
// configuration, then build its drivers as `run` does), and how it reports.
#include "gateway/command_startup.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "tests/support/counter_driver.hpp"

namespace fieldgate::gateway {
namespace {

const std::string kExample = FIELDGATE_SOURCE_DIR "/config/examples/power-meter-tcp.toml";

TEST(CommandStartupTest, BuildsOneDriverPerDeviceWithoutIo) {
  std::ostringstream err;
  auto startup = CommandStartup::load(kExample, err);
  ASSERT_NE(startup, nullptr) << err.str();
  EXPECT_TRUE(startup->drivers().empty());  // nothing is built before it is asked for
  ASSERT_TRUE(startup->create_drivers(err)) << err.str();
  EXPECT_EQ(startup->drivers().size(), startup->config().devices.size());
  EXPECT_FALSE(startup->drivers().front()->describe_plan().empty());
  EXPECT_EQ(err.str(), "");
}

TEST(CommandStartupTest, BuildsOnlyTheNamedDevice) {
  std::ostringstream err;
  auto startup = CommandStartup::load(kExample, err);
  ASSERT_NE(startup, nullptr) << err.str();
  ASSERT_TRUE(startup->create_drivers(err, "meter")) << err.str();
  EXPECT_EQ(startup->drivers().size(), 1U);
}

TEST(CommandStartupTest, AnUnknownDeviceIsReportedWithTheFile) {
  std::ostringstream err;
  auto startup = CommandStartup::load(kExample, err);
  ASSERT_NE(startup, nullptr) << err.str();
  EXPECT_FALSE(startup->create_drivers(err, "no-such-device"));
  EXPECT_TRUE(startup->drivers().empty());
  EXPECT_EQ(err.str().rfind(kExample + ": ", 0), 0U) << err.str();
}

TEST(CommandStartupTest, AnEmptyRegistryKnowsNoDriverSoTheFileDoesNotLoad) {
  std::ostringstream err;
  EXPECT_EQ(CommandStartup::load(kExample, err, drivers::DriverRegistry{}), nullptr);
  EXPECT_NE(err.str().find(kExample + ":21:10: devices[0].driver: "), std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("got \"modbus-tcp\""), std::string::npos) << err.str();
}

// The test-only "counter" driver (tests/support/counter_driver.hpp), added to
// the registry a command is given: its file loads, `check`'s endpoint text and
// plan come from it, and it polls, with no edit to config/ or gateway/.
TEST(CommandStartupTest, ADriverAddedToTheRegistryIsLoadedCheckedAndPolled) {
  const std::string path = ::testing::TempDir() + "command_startup_counter.toml";
  std::ofstream(path) << "[[devices]]\nname = \"tally\"\ndriver = \"counter\"\nstart = 7\n"
                         "[[devices.points]]\nname = \"n\"\nstep = 3\n";
  auto registry = drivers::make_default_registry();
  test_support::register_counter_driver(registry);
  std::ostringstream err;
  auto startup = CommandStartup::load(path, err, std::move(registry));
  ASSERT_NE(startup, nullptr) << err.str();
  ASSERT_TRUE(startup->create_drivers(err)) << err.str();
  const auto& device = startup->config().devices.at(0);
  EXPECT_EQ(startup->registry().describe_endpoint(device, startup->config()), "counter from 7");
  auto& driver = *startup->drivers().at(0);
  EXPECT_EQ(driver.describe_plan(), std::vector<std::string>{"count n by 3"});
  const auto first = driver.poll(drivers::Clock::now(), true);
  const auto second = driver.poll(drivers::Clock::now(), true);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].quality, Quality::kGood);
  EXPECT_EQ(std::get<std::int64_t>(second[0].value) - std::get<std::int64_t>(first[0].value), 3);
  std::remove(path.c_str());
}

TEST(CommandStartupTest, AConfigThatDoesNotLoadIsReportedAndNothingIsBuilt) {
  std::ostringstream err;
  const std::string missing = FIELDGATE_SOURCE_DIR "/config/examples/no-such-file.toml";
  EXPECT_EQ(CommandStartup::load(missing, err), nullptr);
  EXPECT_NE(err.str().find(missing + ": 1 problem found; nothing was started\n"), std::string::npos)
      << err.str();
}

}  // namespace
}  // namespace fieldgate::gateway
