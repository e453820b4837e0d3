// A device's byte_order over its model's (docs/MODELS.md): it replaces the
// order the model's [defaults] gives its points, not an order a model point
// writes itself. `fieldgate scan` writes such a byte_order in its snippet for
// a meter set to another word order.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "config/config.hpp"
#include "drivers/modbus/settings.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

namespace fs = std::filesystem;

const PointConfig& point(const DeviceConfig& d, const std::string& name) {
  for (const auto& p : d.points) {
    if (p.name == name) return p;
  }
  throw std::runtime_error("no point " + name);
}

Config load_device(const std::string& dirs, const std::string& body) {
  return fieldgate::test_support::load_config_string(fmt::format(R"([gateway]
model_dirs = [{}]
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
{}
)",
                                                                 dirs, body),
                                                     "t.toml");
}

TEST(ModelByteOrderTest, ADevicesByteOrderReordersTheModelsPoints) {
  const std::string shipped = fmt::format("\"{}/models\"", FIELDGATE_SOURCE_DIR);
  const Config own = load_device(shipped, "model = \"eastron-sdm630\"");
  EXPECT_EQ(modbus::point_of(point(own.devices.at(0), "voltage_l1")).byte_order,
            modbus::ByteOrder::kABCD);
  const Config swapped = load_device(shipped, "model = \"eastron-sdm630\"\nbyte_order = \"CDAB\"");
  for (const PointConfig& p : swapped.devices.at(0).points) {
    EXPECT_EQ(modbus::point_of(p).byte_order, modbus::ByteOrder::kCDAB) << p.name;
  }
}

TEST(ModelByteOrderTest, APointThatWritesItsOwnOrderKeepsIt) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("fg-order-{}", ::getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "acme-t2.toml") << R"(vendor = "Acme"
model = "T2"
drivers = ["modbus-tcp"]
[source]
document = "Acme T2 register map"
version = "1.0"
[defaults]
kind = "holding"
type = "float32"
byte_order = "ABCD"
[[probe]]
point = "voltage_l1"
within = [[207, 253]]
[[points]]
name = "voltage_l1"
address = 0
[[points]]
name = "energy"
address = 2
byte_order = "BADC"
)";
  const Config c = load_device(fmt::format("\"{}\"", dir.string()),
                               "model = \"acme-t2\"\nbyte_order = \"DCBA\"");
  fs::remove_all(dir);
  const DeviceConfig& d = c.devices.at(0);
  EXPECT_EQ(modbus::point_of(point(d, "voltage_l1")).byte_order, modbus::ByteOrder::kDCBA);
  EXPECT_EQ(modbus::point_of(point(d, "energy")).byte_order, modbus::ByteOrder::kBADC);
}

}  // namespace
}  // namespace fieldgate::config
