// Library models in a configuration (docs/MODELS.md): `model = "..."` gives
// a device all its model's points, `points`/`model_points` choose, own points
// add or replace by name, the administrator's directory hides the shipped one,
// and mistakes in use or in a model file are reported with file:line:col.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/config.hpp"
#include "config/model_library.hpp"
#include "drivers/modbus/settings.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

namespace fs = std::filesystem;

const std::string kShipped = std::string(FIELDGATE_SOURCE_DIR) + "/models";

// A scratch directory for model files, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           fmt::format("fg-models-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

std::string device(const std::string& dirs, const std::string& body) {
  return fmt::format(R"([gateway]
model_dirs = [{}]
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
{}
)",
                     dirs, body);
}

std::string shipped() {
  return fmt::format("\"{}\"", kShipped);
}

std::vector<std::string> names_of(const DeviceConfig& d) {
  std::vector<std::string> out;
  for (const auto& p : d.points) out.push_back(p.name);
  return out;
}

const PointConfig* find(const DeviceConfig& d, const std::string& name) {
  for (const auto& p : d.points) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// A small model, for the tests that write their own.
constexpr const char* kTinyModel = R"(vendor = "Acme"
model = "T1"
drivers = ["modbus-tcp", "modbus-rtu"]
[source]
document = "Acme T1 register map"
version = "1.0"
[defaults]
kind = "holding"
type = "float32"
byte_order = "CDAB"
[[probe]]
point = "voltage_l1"
within = [[207, 253]]
[[points]]
name = "voltage_l1"
address = 10
unit = "V"
)";

TEST(ConfigModelTest, ADeviceTakesEveryPointOfItsModel) {
  const Config c = load(device(shipped(), "model = \"eastron-sdm630\""));
  const DeviceConfig& d = c.devices.at(0);
  EXPECT_EQ(d.model, "eastron-sdm630");
  EXPECT_EQ(d.points.size(), 42u);
  const PointConfig* v = find(d, "voltage_l1");
  ASSERT_NE(v, nullptr);
  const auto& m = modbus::point_of(*v);
  EXPECT_EQ(m.kind, modbus::RegisterKind::kInput);
  EXPECT_EQ(m.address, 0);
  EXPECT_EQ(m.type, modbus::ValueType::kFloat32);
  EXPECT_EQ(m.byte_order, modbus::ByteOrder::kABCD);
  EXPECT_EQ(v->unit, "V");
  const PointConfig* e = find(d, "energy_import_total");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(modbus::point_of(*e).address, 0x48);
  EXPECT_EQ(e->unit, "kWh");
  // The model's Home Assistant device block, as the device gave none.
  EXPECT_EQ(d.homeassistant.manufacturer, "Eastron");
  EXPECT_EQ(d.homeassistant.model, "SDM630");
  // A point's Home Assistant hint from the model.
  EXPECT_EQ(find(d, "power_factor_total")->ha_overrides().device_class, "power_factor");
}

TEST(ConfigModelTest, NamesInPointsChooseInTheirOrder) {
  const Config c = load(
      device(shipped(), "model = \"eastron-sdm630\"\npoints = [\"frequency\", \"voltage_l1\"]"));
  EXPECT_EQ(names_of(c.devices.at(0)), (std::vector<std::string>{"frequency", "voltage_l1"}));
}

TEST(ConfigModelTest, ModelPointsChooseAndOwnPointsAddOrReplace) {
  const Config c = load(device(shipped(), R"(model = "eastron-sdm630"
model_points = ["voltage_l1", "frequency"]
[[devices.points]]
name = "frequency"
kind = "input"
address = 0x46
type = "float32"
unit = "Hz"
scale = 1000
[[devices.points]]
name = "relay"
kind = "coil"
address = 3)"));
  const DeviceConfig& d = c.devices.at(0);
  // Own points first (they keep their index), then the model's not replaced.
  EXPECT_EQ(names_of(d), (std::vector<std::string>{"frequency", "relay", "voltage_l1"}));
  EXPECT_EQ(find(d, "frequency")->scale, 1000);
}

TEST(ConfigModelTest, AnUnknownModelIsNamedWithASuggestion) {
  EXPECT_EQ(errors_of(device(shipped(), "model = \"eastron-sdm63\"")),
            fmt::format("t.toml:7:9: devices[0].model: no model named \"eastron-sdm63\" in {} "
                        "(did you mean \"eastron-sdm630\"?)",
                        kShipped));
}

TEST(ConfigModelTest, AnUnknownPointIsNamedWithASuggestion) {
  EXPECT_EQ(errors_of(device(shipped(),
                             "model = \"eastron-sdm630\"\n"
                             "points = [\"voltage_l1\", \"voltag_l2\"]")),
            "t.toml:8:25: devices[0].points[1]: model \"eastron-sdm630\" has no point "
            "\"voltag_l2\" (did you mean \"voltage_l2\"?)");
  EXPECT_EQ(errors_of(device(shipped(),
                             "model = \"eastron-sdm630\"\n"
                             "model_points = [\"frequency\", \"frequency\"]")),
            "t.toml:8:30: devices[0].model_points[1]: point \"frequency\" is chosen twice");
}

TEST(ConfigModelTest, SunSpecIsDiscoveredByTheModbusDriverNotReadFromALibraryFile) {
  const Config c = load(device(shipped(), "model = \"sunspec\""));
  ASSERT_EQ(c.devices.size(), 1U);
  EXPECT_EQ(c.devices[0].model, "sunspec");
  EXPECT_TRUE(c.devices[0].points.empty());
  EXPECT_EQ(errors_of(device(shipped(), "model = \"sunspec\"\nmodel_points = [\"frequency\"]")),
            "t.toml:8:16: devices[0].model_points: a SunSpec device's points are discovered from "
            "the device: none can be chosen");
}

TEST(ConfigModelTest, TheFirstDirectoryHidesALaterOne) {
  TempDir user;
  user.write("eastron-sdm630.toml", kTinyModel);
  const std::string dirs = fmt::format("\"{}\", {}", user.path.string(), shipped());
  const Config c = load(device(dirs, "model = \"eastron-sdm630\""));
  const DeviceConfig& d = c.devices.at(0);
  ASSERT_EQ(names_of(d), std::vector<std::string>{"voltage_l1"});
  EXPECT_EQ(modbus::point_of(d.points[0]).address, 10);
  // The model's [defaults] byte order.
  EXPECT_EQ(modbus::point_of(d.points[0]).byte_order, modbus::ByteOrder::kCDAB);
  EXPECT_EQ(d.model_path, (user.path / "eastron-sdm630.toml").string());
  const auto listed = list_models(std::vector<std::string>{user.path.string(), kShipped});
  const auto it = std::find_if(listed.begin(), listed.end(),
                               [](const ModelEntry& e) { return e.name == "eastron-sdm630"; });
  ASSERT_NE(it, listed.end());
  EXPECT_EQ(it->dir, user.path.string());
}

TEST(ConfigModelTest, ARelativeModelDirIsTheConfigurationFilesNeighbour) {
  TempDir dir;
  fs::create_directories(dir.path / "my-models");
  std::ofstream(dir.path / "my-models" / "acme-t1.toml") << kTinyModel;
  std::ofstream(dir.path / "gateway.toml") << device("\"my-models\"", "model = \"acme-t1\"");
  const Config c = fieldgate::test_support::load_config((dir.path / "gateway.toml").string());
  EXPECT_EQ(c.devices.at(0).points.size(), 1u);
}

TEST(ConfigModelTest, AModelFileWithErrorsIsReportedWhereTheErrorsAreAndNotUsed) {
  TempDir user;
  user.write("acme-bad.toml", R"(vendor = "Acme"
model = "B"
drivers = ["modbus-tcp"]
[source]
document = "d"
version = "1"
[[probe]]
point = "voltage_l9"
within = [[207, 253]]
[[points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float"
)");
  const std::string path = (user.path / "acme-bad.toml").string();
  const std::string text = device(fmt::format("\"{}\"", user.path.string()),
                                  "model = \"acme-bad\"\n[[devices.points]]\nname = \"x\"\n"
                                  "kind = \"input\"\naddress = 0");
  EXPECT_EQ(errors_of(text),
            fmt::format("t.toml:7:9: devices[0].model: model \"acme-bad\" ({0}) has errors "
                        "(listed with its file name)\n"
                        "{0}:8:9: probe[0].point: no point named \"voltage_l9\" in this model "
                        "(did you mean \"voltage_l1\"?)\n"
                        "{0}:14:8: points[0].type: expected one of bool, bit, int16, uint16, "
                        "int32, uint32, int64, uint64, float32, float64, string; got \"float\"",
                        path));
}

TEST(ConfigModelTest, AModelIsForItsDriversOnly) {
  EXPECT_EQ(errors_of(fmt::format(R"([gateway]
model_dirs = [{}]
[[devices]]
name = "scale"
driver = "serial-line"
port = "/dev/ttyUSB0"
model = "eastron-sdm630"
)",
                                  shipped())),
            "t.toml:7:9: devices[0].model: model \"eastron-sdm630\" is for driver modbus-rtu or "
            "modbus-tcp, not \"serial-line\"");
}

TEST(ConfigModelTest, PointNamesWithoutAModelAreRefused) {
  EXPECT_EQ(errors_of(device(shipped(), "points = [\"voltage_l1\"]")),
            "t.toml:7:11: devices[0].points[0]: the point name \"voltage_l1\" chooses from a "
            "model, and this device has no model = \"...\"");
}

}  // namespace
}  // namespace fieldgate::config
