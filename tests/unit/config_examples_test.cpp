// Every configuration a technician may copy must load: config/examples/*.toml
// and each driver's drivers/*/sample.toml. An example that no longer loads is
// a broken promise in the docs, so each one is loaded here, not just shown.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/settings.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::config {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = FIELDGATE_SOURCE_DIR;

std::vector<fs::path> example_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kSourceDir / "config" / "examples", ec)) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<fs::path> driver_samples() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(kSourceDir / "drivers", ec)) {
    if (entry.path().filename() == "sample.toml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void expect_loads(const fs::path& file) {
  try {
    const Config config = fieldgate::test_support::load_config(file.string());
    EXPECT_FALSE(config.devices.empty()) << file;
    for (const DeviceConfig& device : config.devices) {
      EXPECT_FALSE(device.points.empty()) << file << ": " << device.name;
    }
  } catch (const ConfigError& e) {
    ADD_FAILURE() << e.what();
  }
}

TEST(ConfigExamplesTest, EveryExampleLoads) {
  const std::vector<fs::path> files = example_files();
  // We ship two; an empty list means the glob is wrong, not that all is well.
  ASSERT_GE(files.size(), 2u) << "no examples in " << kSourceDir / "config" / "examples";
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    expect_loads(file);
  }
}

TEST(ConfigExamplesTest, EveryDriverSampleLoads) {
  // Samples are written with their drivers; there may be none yet.
  for (const fs::path& file : driver_samples()) {
    SCOPED_TRACE(file.string());
    expect_loads(file);
  }
}

TEST(ConfigExamplesTest, TcpExampleUsesTheDocumentedDefaults) {
  // The examples are documentation: check the values a technician relies on.
  ::unsetenv("METER_PORT");
  const Config c = fieldgate::test_support::load_config(
      (kSourceDir / "config/examples/power-meter-tcp.toml").string());
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].driver, "modbus-tcp");
  EXPECT_EQ(modbus::device_of(c.devices[0]).host, "127.0.0.1");
  EXPECT_EQ(modbus::device_of(c.devices[0]).port, 5020);
  ::setenv("METER_PORT", "15020", 1);
  EXPECT_EQ(modbus::device_of(fieldgate::test_support::load_config(
                                  (kSourceDir / "config/examples/power-meter-tcp.toml").string())
                                  .devices.at(0))
                .port,
            15020);
  ::unsetenv("METER_PORT");
}

TEST(ConfigExamplesTest, RtuExampleIs9600Baud8N1Unit1) {
  ::unsetenv("METER_TTY");
  const Config c = fieldgate::test_support::load_config(
      (kSourceDir / "config/examples/power-meter-rtu.toml").string());
  ASSERT_EQ(c.buses.size(), 1u);
  EXPECT_EQ(c.buses[0].port, "/dev/ttyUSB0");
  EXPECT_EQ(c.buses[0].baud, 9600);
  EXPECT_EQ(c.buses[0].data_bits, 8);
  EXPECT_EQ(c.buses[0].parity, Parity::kNone);
  EXPECT_EQ(c.buses[0].stop_bits, 1);
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].driver, "modbus-rtu");
  EXPECT_EQ(modbus::device_of(c.devices[0]).bus, c.buses[0].name);
  EXPECT_EQ(modbus::device_of(c.devices[0]).unit_id, 1);
}

}  // namespace
}  // namespace fieldgate::config
