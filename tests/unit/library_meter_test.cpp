// Library meters as simulator profiles (drivers/sim/library_meter.hpp): for
// every shipped model, the rendered registers pass the model's own
// identification probe (so `fieldgate scan` finds the simulator), the values
// are plausible in the model's units, counters only grow, and the model's
// word order matters.
#include "drivers/sim/library_meter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "config/model_library.hpp"
#include "drivers/modbus/model_probe.hpp"
#include "drivers/modbus/settings.hpp"
#include "drivers/sim/device_model.hpp"

namespace fieldgate::sim {
namespace {

const std::vector<std::string> kShipped{std::string(FIELDGATE_SOURCE_DIR) + "/models"};

// Reads from a rendered image, as a Modbus master would.
modbus::RegisterRead reader(const RegisterImage& image) {
  return [&image](modbus::RegisterKind kind, int address,
                  int count) -> std::optional<std::vector<std::uint16_t>> {
    const auto& table = kind == modbus::RegisterKind::kHolding ? image.holding : image.input;
    const auto at = static_cast<std::size_t>(address);
    if (at + static_cast<std::size_t>(count) > table.size()) return std::nullopt;
    return std::vector<std::uint16_t>(table.begin() + address, table.begin() + address + count);
  };
}

std::vector<std::string> shipped_names() {
  std::vector<std::string> names;
  for (const auto& entry : config::list_models(kShipped)) names.push_back(entry.name);
  return names;
}

class LibraryMeterTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<LibraryMeter> meter_ = make_library_meter(kShipped, GetParam());
  RegisterImage image_;

  double value(std::string_view point) {
    const config::PointConfig* p = meter_->model().find_point(point);
    if (p == nullptr) return std::nan("");
    return modbus::read_point_value(*p, reader(image_)).value_or(std::nan(""));
  }
};

TEST_P(LibraryMeterTest, TheModelsOwnProbePasses) {
  meter_->render(image_);
  const auto verdict = modbus::evaluate_model_probe(meter_->model(), reader(image_));
  EXPECT_TRUE(verdict.matched) << verdict.reason;
  // After an hour of simulated time too.
  meter_->step(3600);
  meter_->render(image_);
  EXPECT_TRUE(modbus::evaluate_model_probe(meter_->model(), reader(image_)).matched);
}

TEST_P(LibraryMeterTest, ValuesArePlausibleInTheModelsUnits) {
  meter_->render(image_);
  int checked = 0;
  for (const config::PointConfig& p : meter_->model().points) {
    const double v = value(p.name);
    ASSERT_TRUE(std::isfinite(v)) << p.name;
    const std::string& n = p.name;
    if (n.starts_with("voltage_l") && n.size() == 10) {
      EXPECT_GE(v, 220.0) << n;
      EXPECT_LE(v, 240.0) << n;
    } else if (n.starts_with("voltage_l")) {  // line to line
      EXPECT_NEAR(v, 400.0, 20.0) << n;
    } else if (n == "frequency") {
      EXPECT_NEAR(v, 50.0, 0.1) << n;
    } else if (n.starts_with("power_factor")) {
      EXPECT_GE(v, -1.0) << n;
      EXPECT_LE(v, 1.0) << n;
      EXPECT_GT(v, 0.85) << n;
    } else if (n.starts_with("current_l") || n == "current_avg") {
      EXPECT_GE(v, 5.0) << n;
      EXPECT_LE(v, 15.0) << n;
    } else if (n.starts_with("power_active") || n.starts_with("power_apparent")) {
      EXPECT_GT(v, 500.0) << n;  // 5..15 A at ~230 V, per phase
    } else if (n.starts_with("energy_import") || n.starts_with("energy_total")) {
      EXPECT_GT(v, 100.0) << n;  // kWh
    } else {
      continue;
    }
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST_P(LibraryMeterTest, TotalsAreTheSumOfThePhases) {
  meter_->render(image_);
  const double total = value("power_active_total");
  if (meter_->model().find_point("voltage_l2") == nullptr) {
    // Single phase: the total is L1's, V x I x PF.
    const double expected = value("voltage_l1") * value("current_l1") * value("power_factor_total");
    EXPECT_NEAR(total, expected, 0.01 * expected);
  } else if (meter_->model().find_point("power_active_l1") != nullptr) {
    const double sum =
        value("power_active_l1") + value("power_active_l2") + value("power_active_l3");
    EXPECT_NEAR(total, sum, 0.01 * sum);
  }
}

TEST_P(LibraryMeterTest, EnergyCountersOnlyGrow) {
  if (meter_->model().find_point("energy_import_total") == nullptr) {
    GTEST_SKIP() << "the model has no energy counter";
  }
  meter_->render(image_);
  const double before = value("energy_import_total");
  for (int i = 0; i < 10; ++i) meter_->step(600);
  meter_->render(image_);
  const double after = value("energy_import_total");
  // 100 simulated minutes at a few kW: several kWh.
  EXPECT_GT(after, before + 1.0);
}

TEST_P(LibraryMeterTest, TheModelsWordOrderMatters) {
  meter_->render(image_);
  const auto& voltage = modbus::point_of(*meter_->model().find_point("voltage_l1"));
  if (modbus::register_count(voltage.type, voltage.count) < 2) GTEST_SKIP() << "one register";
  const auto own = voltage.order_or(modbus::ByteOrder::kABCD);
  const auto other =
      own == modbus::ByteOrder::kABCD ? modbus::ByteOrder::kCDAB : modbus::ByteOrder::kABCD;
  EXPECT_FALSE(modbus::evaluate_model_probe(meter_->model(), reader(image_), other).matched);
}

INSTANTIATE_TEST_SUITE_P(EveryShippedModel, LibraryMeterTest, ::testing::ValuesIn(shipped_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(LibraryMeter, ShipsAtLeastTwelveModels) {
  EXPECT_GE(shipped_names().size(), 12U);
}

TEST(LibraryMeter, ConventionValuesFollowTheNames) {
  MeterState s;
  s.voltage[0] = 230;
  s.voltage[1] = 231;
  s.voltage[2] = 229;
  s.current[0] = 10;
  s.current[1] = 10;
  s.current[2] = 10;
  s.power_factor = 0.8;
  s.import_kwh = 300;
  s.export_kwh = 30;
  EXPECT_DOUBLE_EQ(*convention_value("voltage_l2", s), 231);
  EXPECT_DOUBLE_EQ(*convention_value("voltage_avg", s), 230);
  EXPECT_DOUBLE_EQ(*convention_value("power_active_l1", s), 230 * 10 * 0.8);
  EXPECT_DOUBLE_EQ(*convention_value("power_apparent_total", s), (230 + 231 + 229) * 10.0);
  EXPECT_NEAR(*convention_value("power_reactive_l1", s), 230 * 10 * 0.6, 1e-9);
  EXPECT_NEAR(*convention_value("current_n", s), 0.0, 1e-9);  // balanced
  EXPECT_NEAR(*convention_value("voltage_l1_l2", s), std::sqrt(3.0) * 230.5, 1e-9);
  EXPECT_DOUBLE_EQ(*convention_value("energy_import_total", s), 300);
  EXPECT_DOUBLE_EQ(*convention_value("energy_import_l3", s), 100);
  EXPECT_DOUBLE_EQ(*convention_value("energy_total", s), 330);
  EXPECT_DOUBLE_EQ(*convention_value("energy_total_l1", s), 110);
  EXPECT_DOUBLE_EQ(*convention_value("power_factor_l3", s), 0.8);
  EXPECT_FALSE(convention_value("serial_number", s));
  EXPECT_FALSE(convention_value("voltage_l4", s));
  s.phases = 1;
  EXPECT_DOUBLE_EQ(*convention_value("power_active_total", s), 230 * 10 * 0.8);
  EXPECT_FALSE(convention_value("voltage_l2", s));
}

TEST(LibraryMeter, AnUnknownOrBrokenModelIsRefusedWithTheReason) {
  EXPECT_THROW((void)make_library_meter(kShipped, "acme-nothing"), std::runtime_error);
  try {
    (void)make_device_model("eastron-sdm63");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    // The built-in profiles are always named; the library's when it is found.
    EXPECT_NE(std::string(e.what()).find("power-meter, sunspec-inverter"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace fieldgate::sim
