// The shipped device library (models/): every model file loads on its own,
// follows the naming convention of docs/MODELS.md and has a valid probe; the
// probe is evaluated on values and on register words written out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "config/model_library.hpp"
#include "drivers/modbus/model_probe.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::config {
namespace {

const std::vector<std::string> kShipped{std::string(FIELDGATE_SOURCE_DIR) + "/models"};

std::vector<std::string> shipped_names() {
  std::vector<std::string> out;
  for (const auto& entry : list_models(kShipped)) out.push_back(entry.name);
  return out;
}

// The convention's names (docs/MODELS.md): a quantity, then _l1.._l3, a line
// pair, _n, _avg or _total where it applies.
bool follows_convention(const std::string& name) {
  static const std::regex kName(
      "(voltage|current|power_active|power_reactive|power_apparent|power_factor|thd_voltage|"
      "thd_current|energy_import|energy_export|energy_reactive_import|energy_reactive_export|"
      "energy_total|energy|energy_reactive)_(l1|l2|l3|l1_l2|l2_l3|l3_l1|n|avg|total)|frequency");
  return std::regex_match(name, kName);
}

class ShippedModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ShippedModelTest, LoadsFollowsTheConventionAndHasAValidProbe) {
  const Model m = load_model(kShipped, GetParam(), test_support::default_schemas());
  EXPECT_FALSE(m.vendor.empty());
  EXPECT_FALSE(m.source_document.empty());
  EXPECT_FALSE(m.source_version.empty());
  EXPECT_FALSE(m.points.empty());
  for (const auto& p : m.points) EXPECT_TRUE(follows_convention(p.name)) << p.name;
  // Every model is found by the same first check, so scan can try them alike.
  ASSERT_GE(m.probe.size(), 1u);
  EXPECT_EQ(m.probe[0].point, "voltage_l1");
  for (const auto& check : m.probe) {
    const PointConfig* p = m.find_point(check.point);
    ASSERT_NE(p, nullptr) << check.point;
    EXPECT_EQ(p->value_kind, ValueKind::kNumber);
  }
  // A mains meter at 230 V and 50 Hz passes; one reading 0 V does not.
  const auto mains = [](std::string_view point) -> std::optional<double> {
    return point == "frequency" ? 50.0 : 230.0;
  };
  EXPECT_TRUE(evaluate_probe(m.probe, mains).matched);
  const auto dead = [](std::string_view) -> std::optional<double> { return 0.0; };
  EXPECT_FALSE(evaluate_probe(m.probe, dead).matched);
}

INSTANTIATE_TEST_SUITE_P(Models, ShippedModelTest, ::testing::ValuesIn(shipped_names()),
                         [](const auto& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ModelLibraryTest, ShipsTheIssuesTwelveMeters) {
  EXPECT_GE(shipped_names().size(), 12u);
}

TEST(ModelProbeTest, EveryCheckMustPassAndTheFirstFailureIsNamed) {
  const std::vector<ProbeCheck> probe{{"voltage_l1", {{207, 253}, {99, 121}}, {}, {}},
                                      {"frequency", {{45, 65}}, {}, {}}};
  std::map<std::string, std::optional<double>, std::less<>> values{{"voltage_l1", 110.0},
                                                                   {"frequency", 60.0}};
  const auto value_of = [&](std::string_view p) { return values.find(p)->second; };
  EXPECT_TRUE(evaluate_probe(probe, value_of).matched);
  values["voltage_l1"] = 400.0;
  EXPECT_EQ(evaluate_probe(probe, value_of).reason,
            "voltage_l1 = 400, expected 207..253 or 99..121");
  values["voltage_l1"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(evaluate_probe(probe, value_of).matched);
  values["voltage_l1"] = 230.0;
  values["frequency"] = std::nullopt;
  EXPECT_EQ(evaluate_probe(probe, value_of).reason, "frequency: no value");
  EXPECT_FALSE(evaluate_probe({}, value_of).matched);
  const std::vector<ProbeCheck> exact{{"device_type", {}, {630.0}, {}}};
  EXPECT_TRUE(evaluate_probe(exact, [](std::string_view) { return 630.0; }).matched);
}

// Register words written out by hand, never by fieldgate's encoder: 230.5 V
// as float32 ABCD is 0x4366 0x8000, 50 Hz is 0x4248 0x0000.
TEST(ModelProbeTest, RegistersOfAnSdm630MatchItsProbe) {
  const Model m = load_model(kShipped, "eastron-sdm630", test_support::default_schemas());
  std::map<int, std::vector<std::uint16_t>> input{{0x0000, {0x4366, 0x8000}},
                                                  {0x0046, {0x4248, 0x0000}}};
  int reads = 0;
  const modbus::RegisterRead read = [&](modbus::RegisterKind kind, int address,
                                        int count) -> std::optional<std::vector<std::uint16_t>> {
    ++reads;
    if (kind != modbus::RegisterKind::kInput || count != 2) return std::nullopt;
    const auto it = input.find(address);
    if (it == input.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(modbus::read_point_value(*m.find_point("voltage_l1"), read), 230.5);
  EXPECT_TRUE(modbus::evaluate_model_probe(m, read).matched);
  // Read word-swapped, the same words are no mains voltage.
  EXPECT_FALSE(modbus::evaluate_model_probe(m, read, modbus::ByteOrder::kCDAB).matched);
  EXPECT_GT(reads, 0);
  // An ABB B23 says 230.5 V as uint32 2305 (0.1 V): 0x0000 0x0901; 50.00 Hz as 5000: 0x1388.
  const Model abb = load_model(kShipped, "abb-b23", test_support::default_schemas());
  const modbus::RegisterRead abb_read = [](modbus::RegisterKind kind, int address,
                                           int) -> std::optional<std::vector<std::uint16_t>> {
    if (kind != modbus::RegisterKind::kHolding) return std::nullopt;
    if (address == 0x5B00) return std::vector<std::uint16_t>{0x0000, 0x0901};
    if (address == 0x5B2C) return std::vector<std::uint16_t>{0x1388};
    return std::nullopt;
  };
  EXPECT_EQ(modbus::read_point_value(*abb.find_point("voltage_l1"), abb_read), 230.5);
  EXPECT_TRUE(modbus::evaluate_model_probe(abb, abb_read).matched);
  // A dead device: no value, no match.
  const modbus::RegisterRead silent = [](modbus::RegisterKind, int, int) {
    return std::optional<std::vector<std::uint16_t>>{};
  };
  EXPECT_EQ(modbus::evaluate_model_probe(abb, silent).reason, "voltage_l1: no value");
}

}  // namespace
}  // namespace fieldgate::config
