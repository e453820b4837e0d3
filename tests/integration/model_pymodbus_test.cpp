// Every shipped library model against an independent peer: pymodbus holds
// register words written out by hand below (each with the value it stands
// for, computed with Python's struct module, never with fieldgate's encoder),
// and `fieldgate poll --once --json` with a configuration that is only
// `model = "<name>"` plus the connection must read those values, in the
// model's units. One pymodbus server for all models, one unit id each.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

const std::string kModelsDir = FIELDGATE_SOURCE_DIR "/models";

// What the meter holds: `words` from `address` on (0-based, as on the wire).
struct Words {
  int address;
  std::vector<std::uint16_t> words;
};
// What polling it must give.
struct ModelReading {
  std::string point;
  double value;
  std::string unit;
};
struct HandWrittenMeter {
  std::string model;
  std::string kind;  // "input" or "holding": where the model's points are
  std::vector<Words> registers;
  std::vector<ModelReading> readings;
};

// Register words by hand. float32 ABCD is struct.pack(">f", v) as two
// big-endian words; CDAB swaps the two words; integers are two's complement.
const std::vector<HandWrittenMeter> kMeters{
    {"abb-b23",
     "holding",
     {
         {0x5B00, {0x0000, 0x0901}},                  // uint32 2305 x 0.1
         {0x5B0C, {0x0000, 0x020D}},                  // uint32 525 x 0.01
         {0x5B14, {0xFFFE, 0x1DC0}},                  // int32 -123456 x 0.01
         {0x5B2C, {0x138A}},                          // uint16 5002 x 0.01
         {0x5B3A, {0xFC95}},                          // int16 -875 x 0.001
         {0x5000, {0x0000, 0x0000, 0x0012, 0xD687}},  // uint64 1234567 x 0.01
     },
     {{"voltage_l1", 230.5, "V"},
      {"current_l1", 5.25, "A"},
      {"power_active_total", -1234.56, "W"},
      {"frequency", 50.02, "Hz"},
      {"power_factor_total", -0.875, ""},
      {"energy_import_total", 12345.67, "kWh"}}},
    {"carlogavazzi-em24",
     "input",
     {
         {0x0000, {0x0901, 0x0000}},  // int32 CDAB 2305 x 0.1
         {0x000C, {0x1482, 0x0000}},  // int32 CDAB 5250 x 0.001
         {0x0028, {0xCFC7, 0xFFFF}},  // int32 CDAB -12345 x 0.1
         {0x0035, {0x036B}},          // int16 875 x 0.001
         {0x0037, {0x01F4}},          // int16 500 x 0.1
         {0x0042, {0xE240, 0x0001}},  // int32 CDAB 123456 x 0.1
     },
     {{"voltage_l1", 230.5, "V"},
      {"current_l1", 5.25, "A"},
      {"power_active_total", -1234.5, "W"},
      {"power_factor_total", 0.875, ""},
      {"frequency", 50.0, "Hz"},
      {"energy_import_total", 12345.6, "kWh"}}},
    {"carlogavazzi-em340",
     "input",
     {
         {0x0000, {0x0908, 0x0000}},  // int32 CDAB 2312 x 0.1
         {0x000E, {0x1D4C, 0x0000}},  // int32 CDAB 7500 x 0.001
         {0x002E, {0xFE0C}},          // int16 -500 x 0.001
         {0x0033, {0x01F3}},          // int16 499 x 0.1
         {0x0034, {0x1206, 0x000F}},  // int32 CDAB 987654 x 0.1
     },
     {{"voltage_l1", 231.2, "V"},
      {"current_l2", 7.5, "A"},
      {"power_factor_l1", -0.5, ""},
      {"frequency", 49.9, "Hz"},
      {"energy_import_total", 98765.4, "kWh"}}},
    {"chint-dtsu666",
     "holding",
     {
         {0x2006, {0x4510, 0x1000}},  // float32 2305.0 x 0.1
         {0x2012, {0xC640, 0xE400}},  // float32 -12345.0 x 0.1
         {0x202A, {0x445A, 0xC000}},  // float32 875.0 x 0.001
         {0x2044, {0x459C, 0x4800}},  // float32 5001.0 x 0.01
         {0x101E, {0x4640, 0xE600}},  // float32 12345.5
     },
     {{"voltage_l1", 230.5, "V"},
      {"power_active_total", -1234.5, "W"},
      {"power_factor_total", 0.875, ""},
      {"frequency", 50.01, "Hz"},
      {"energy_import_total", 12345.5, "kWh"}}},
    {"eastron-sdm120",
     "input",
     {
         {0x0000, {0x4366, 0x8000}},  // float32 230.5
         {0x0006, {0x40A8, 0x0000}},  // float32 5.25
         {0x000C, {0x4497, 0x5000}},  // float32 1210.5
         {0x001E, {0x3F60, 0x0000}},  // float32 0.875
         {0x0046, {0x4248, 0x0000}},  // float32 50.0
         {0x0048, {0x4640, 0xE600}},  // float32 12345.5
     },
     {{"voltage_l1", 230.5, "V"},
      {"current_l1", 5.25, "A"},
      {"power_active_total", 1210.5, "W"},
      {"power_factor_total", 0.875, ""},
      {"frequency", 50.0, "Hz"},
      {"energy_import_total", 12345.5, "kWh"}}},
    {"eastron-sdm230",
     "input",
     {
         {0x0000, {0x4365, 0xC000}},  // float32 229.75
         {0x0018, {0xC39B, 0x4000}},  // float32 -310.5
         {0x001E, {0xBF00, 0x0000}},  // float32 -0.5
         {0x0046, {0x4247, 0x8000}},  // float32 49.875
         {0x004A, {0x4229, 0x0000}},  // float32 42.25
     },
     {{"voltage_l1", 229.75, "V"},
      {"power_reactive_total", -310.5, "var"},
      {"power_factor_total", -0.5, ""},
      {"frequency", 49.875, "Hz"},
      {"energy_export_total", 42.25, "kWh"}}},
    {"eastron-sdm630",
     "input",
     {
         {0x0000, {0x4366, 0x8000}},  // float32 230.5
         {0x0004, {0x4365, 0xC000}},  // float32 229.75
         {0x0008, {0x40F0, 0x0000}},  // float32 7.5
         {0x001E, {0x3F60, 0x0000}},  // float32 0.875
         {0x0034, {0x4497, 0x5000}},  // float32 1210.5
         {0x0046, {0x4248, 0x8000}},  // float32 50.125
         {0x0048, {0x4640, 0xE600}},  // float32 12345.5
         {0x00EA, {0x4030, 0x0000}},  // float32 2.75
         {0x015E, {0x4229, 0x0000}},  // float32 42.25
     },
     {{"voltage_l1", 230.5, "V"},
      {"voltage_l3", 229.75, "V"},
      {"current_l2", 7.5, "A"},
      {"power_factor_l1", 0.875, ""},
      {"power_active_total", 1210.5, "W"},
      {"frequency", 50.125, "Hz"},
      {"energy_import_total", 12345.5, "kWh"},
      {"thd_voltage_l1", 2.75, "%"},
      {"energy_import_l3", 42.25, "kWh"}}},
    {"eastron-sdm72dm-v2",
     "input",
     {
         {0x0002, {0x4367, 0x4000}},  // float32 231.25
         {0x000A, {0x40F8, 0x0000}},  // float32 7.75
         {0x0038, {0x44BE, 0x0800}},  // float32 1520.25
         {0x003E, {0xBF00, 0x0000}},  // float32 -0.5
         {0x0046, {0x4247, 0x8000}},  // float32 49.875
         {0x0156, {0x4640, 0xE600}},  // float32 12345.5
     },
     {{"voltage_l2", 231.25, "V"},
      {"current_l3", 7.75, "A"},
      {"power_apparent_total", 1520.25, "VA"},
      {"power_factor_total", -0.5, ""},
      {"frequency", 49.875, "Hz"},
      {"energy_total", 12345.5, "kWh"}}},
    {"finder-7m38",
     "input",
     {
         {0x09C4, {0x4366, 0x8000}},  // float32 230.5
         {0x09E8, {0x4497, 0x5000}},  // float32 1210.5
         {0x0A18, {0x4248, 0x0000}},  // float32 50.0
         {0x0A24, {0x4048, 0x0000}},  // float32 3.125
         {0x0AC0, {0x4B3C, 0x609C}},  // float32 12345500.0 (Wh) x 0.001
     },
     {{"voltage_l1", 230.5, "V"},
      {"power_active_total", 1210.5, "W"},
      {"frequency", 50.0, "Hz"},
      {"thd_voltage_l2", 3.125, "%"},
      {"energy_import_total", 12345.5, "kWh"}}},
    {"janitza-umg96rm",
     "holding",
     {
         {0x0320, {0x4247, 0x8000}},  // float32 49.875
         {0x0328, {0x4366, 0x8000}},  // float32 230.5
         {0x035C, {0x40A8, 0x0000}},  // float32 5.25
         {0x036A, {0x4497, 0x5000}},  // float32 1210.5
         {0x0372, {0xC39B, 0x4000}},  // float32 -310.5
     },
     {{"frequency", 49.875, "Hz"},
      {"voltage_l1", 230.5, "V"},
      {"current_l1", 5.25, "A"},
      {"power_active_total", 1210.5, "W"},
      {"power_reactive_total", -310.5, "var"}}},
    {"orno-or-we-517",
     "holding",
     {
         {0x000E, {0x4365, 0xC000}},  // float32 229.75
         {0x0014, {0x4248, 0x0000}},  // float32 50.0
         {0x0016, {0x40A8, 0x0000}},  // float32 5.25
         {0x001C, {0x3FA0, 0x0000}},  // float32 1.25 (kW) x 1000
         {0x002C, {0x4020, 0x0000}},  // float32 2.5 (kVA) x 1000
         {0x0108, {0x4640, 0xE600}},  // float32 12345.5
     },
     {{"voltage_l1", 229.75, "V"},
      {"frequency", 50.0, "Hz"},
      {"current_l1", 5.25, "A"},
      {"power_active_total", 1250.0, "W"},
      {"power_apparent_total", 2500.0, "VA"},
      {"energy_import_total", 12345.5, "kWh"}}},
    {"schneider-iem3155",
     "holding",
     {
         {0x0BB7, {0x40A8, 0x0000}},                  // float32 5.25
         {0x0BD3, {0x4366, 0x8000}},                  // float32 230.5
         {0x0BF3, {0x4020, 0x0000}},                  // float32 2.5 (kW) x 1000
         {0x0C25, {0x4248, 0x0000}},                  // float32 50.0
         {0x0C83, {0x0000, 0x0000, 0x00BC, 0x614E}},  // int64 12345678 (Wh) x 0.001
     },
     {{"current_l1", 5.25, "A"},
      {"voltage_l1", 230.5, "V"},
      {"power_active_total", 2500.0, "W"},
      {"frequency", 50.0, "Hz"},
      {"energy_import_total", 12345.678, "kWh"}}},
};

int unit_id_of(std::size_t index) {
  return static_cast<int>(index) + 1;
}

class ModelOnPymodbusTest : public ::testing::TestWithParam<std::size_t> {
 public:
  static void SetUpTestSuite() {
    scratch_ = new ScratchDir();
    nlohmann::json spec = nlohmann::json::object();
    for (std::size_t i = 0; i < kMeters.size(); ++i) {
      nlohmann::json runs = nlohmann::json::array();
      for (const auto& r : kMeters[i].registers) runs.push_back({r.address, r.words});
      spec[std::to_string(unit_id_of(i))][kMeters[i].kind] = runs;
    }
    const auto file = scratch_->write("words.json", spec.dump());
    std::string failure;
    for (int attempt = 0; attempt < 3 && server_ == nullptr; ++attempt) {
      port_ = free_loopback_port();
      try {
        server_ = start_peer({FIELDGATE_PYTHON,
                              FIELDGATE_SOURCE_DIR "/tests/integration/pymodbus_words_server.py",
                              std::to_string(port_), file.string()},
                             scratch_->path(), "ready", 30s)
                      .release();
      } catch (const std::runtime_error& e) {
        failure = e.what();
      }
    }
    if (server_ == nullptr) failure_ = new std::string(failure);
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete failure_;
    failure_ = nullptr;
    delete scratch_;
    scratch_ = nullptr;
  }

 protected:
  static ScratchDir* scratch_;
  static ChildProcess* server_;
  static std::string* failure_;
  static int port_;
};

ScratchDir* ModelOnPymodbusTest::scratch_ = nullptr;
ChildProcess* ModelOnPymodbusTest::server_ = nullptr;
std::string* ModelOnPymodbusTest::failure_ = nullptr;
int ModelOnPymodbusTest::port_ = 0;

TEST_P(ModelOnPymodbusTest, PollingAConfigThatIsOnlyTheModelGivesTheHandWrittenValues) {
  ASSERT_NE(server_, nullptr) << "pymodbus server did not start: " << (failure_ ? *failure_ : "");
  const HandWrittenMeter& meter = kMeters[GetParam()];
  const auto config = scratch_->write(
      meter.model + ".toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
[mqtt]
broker = "tcp://127.0.0.1:1"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
unit_id = {}
model = "{}"
)",
                                         (scratch_->path() / (meter.model + ".db")).string(), port_,
                                         unit_id_of(GetParam()), meter.model));
  const auto poll = run_command({kBinary, "poll", "-c", config.string(), "--once", "--json"},
                                scratch_->path(), 60s, {"FIELDGATE_MODELS_DIR=" + kModelsDir});
  ASSERT_EQ(poll.exit_code, 0) << poll.err;

  std::map<std::string, nlohmann::json> readings;
  std::istringstream lines(poll.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    readings[j.at("point").get<std::string>()] = j;
  }
  // Every point of the model is read, none failed; the points the table does
  // not fill read 0: no point overlaps the registers of another.
  EXPECT_GT(readings.size(), meter.readings.size());
  for (const auto& [point, j] : readings) {
    EXPECT_EQ(j.at("quality"), "good") << point << ": " << j.dump();
    const bool filled = std::any_of(meter.readings.begin(), meter.readings.end(),
                                    [&](const ModelReading& r) { return r.point == point; });
    if (!filled) {
      EXPECT_EQ(j.at("value").get<double>(), 0.0) << meter.model << " " << point;
    }
  }
  for (const ModelReading& expected : meter.readings) {
    ASSERT_TRUE(readings.contains(expected.point)) << expected.point << "\n" << poll.out;
    const auto& j = readings.at(expected.point);
    ASSERT_TRUE(j.at("value").is_number()) << j.dump();
    const double value = j.at("value").get<double>();
    EXPECT_NEAR(value, expected.value, 1e-9 * std::max(1.0, std::abs(expected.value)))
        << meter.model << " " << expected.point;
    EXPECT_EQ(j.value("unit", ""), expected.unit) << meter.model << " " << expected.point;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryShippedModel, ModelOnPymodbusTest,
                         ::testing::Range<std::size_t>(0, kMeters.size()),
                         [](const ::testing::TestParamInfo<std::size_t>& param_info) {
                           std::string name = kMeters[param_info.param].model;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ModelOnPymodbusCoverage, TheTableHasEveryShippedModel) {
  std::set<std::string> shipped;
  for (const auto& entry : std::filesystem::directory_iterator(kModelsDir)) {
    if (entry.path().extension() == ".toml") shipped.insert(entry.path().stem().string());
  }
  std::set<std::string> tested;
  for (const auto& meter : kMeters) tested.insert(meter.model);
  EXPECT_EQ(tested, shipped);
}

}  // namespace
}  // namespace fieldgate::testing
