// CommandStartup: the one start-up of `check`, `poll` and `write` (load the
// configuration, then build its drivers as `run` does), and how it reports.
#include "gateway/command_startup.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

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

TEST(CommandStartupTest, TheDriversComeFromTheRegistryItIsGiven) {
  std::ostringstream err;
  auto startup = CommandStartup::load(kExample, err, drivers::DriverRegistry{});
  ASSERT_NE(startup, nullptr) << err.str();
  EXPECT_FALSE(startup->create_drivers(err));  // an empty registry knows no driver
  EXPECT_NE(err.str().find("unknown driver \"modbus-tcp\""), std::string::npos) << err.str();
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
