#include "drivers/sim/sunspec_inverter.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <numbers>

#include "drivers/sunspec/image_writer.hpp"
#include "drivers/sunspec/model_table.hpp"
#include "drivers/sunspec/walker.hpp"

namespace fieldgate::sim {
namespace {

using sunspec::ModelImageWriter;

constexpr double kDaySeconds = 600;  // one simulated day every 10 minutes, as the power meter
constexpr double kPeakStringW = 2600;

const sunspec::ModelDef& model(std::uint16_t id) {
  return *sunspec::find_model(id);  // the profile only uses models of the table
}

}  // namespace

SunSpecInverter::SunSpecInverter(std::uint32_t seed) : rng_(seed) {
  step(kDaySeconds / 4);  // start at noon: the values are worth looking at
}

void SunSpecInverter::step(double dt_s) {
  t_s_ += dt_s;
  std::normal_distribution<double> noise(0.0, 1.0);
  for (auto& v : voltage_) v = std::clamp(v + 0.3 * noise(rng_), 225.0, 235.0);
  frequency_ = std::clamp(frequency_ + 0.005 * noise(rng_), 49.95, 50.05);
  // Sun: a half sine over the "day", zero at "night"; the two strings differ.
  const double sun = std::max(0.0, std::sin(2 * std::numbers::pi * t_s_ / kDaySeconds));
  string_power_w_[0] = std::max(0.0, kPeakStringW * sun + 20 * noise(rng_));
  string_power_w_[1] = std::max(0.0, 0.8 * kPeakStringW * sun + 20 * noise(rng_));
  ac_power_w_ = 0.97 * (string_power_w_[0] + string_power_w_[1]);
  house_load_w_ = std::clamp(house_load_w_ + 30 * noise(rng_), 400.0, 4000.0);
  energy_wh_ += ac_power_w_ * dt_s / 3600;
  const double grid_w = house_load_w_ - ac_power_w_;  // > 0: importing
  (grid_w > 0 ? import_wh_ : export_wh_) += std::abs(grid_w) * dt_s / 3600;
}

void SunSpecInverter::render(RegisterImage& image) const {
  ModelImageWriter common(model(1));
  common.set_string("Mn", "fieldgate");
  common.set_string("Md", "FG-SIM-INV-3P");
  common.set_string("Vr", "1.0.0");
  common.set_string("SN", "FG-INV-000042");
  common.set("DA", 1);

  ModelImageWriter inverter(model(103));
  inverter.set_scale("A_SF", -2);
  inverter.set_scale("V_SF", -1);
  inverter.set_scale("W_SF", 0);
  inverter.set_scale("Hz_SF", -2);
  inverter.set_scale("VA_SF", 0);
  inverter.set_scale("VAr_SF", 0);
  inverter.set_scale("PF_SF", -1);
  inverter.set_scale("WH_SF", 0);
  inverter.set_scale("DCA_SF", -2);
  inverter.set_scale("DCV_SF", -1);
  inverter.set_scale("DCW_SF", 0);
  inverter.set_scale("Tmp_SF", -1);
  double amps = 0;
  for (int phase = 0; phase < 3; ++phase) {
    const double a = ac_power_w_ / 3 / voltage_[phase];
    amps += a;
    inverter.set(std::array{"AphA", "AphB", "AphC"}[phase], a);
    inverter.set(std::array{"PhVphA", "PhVphB", "PhVphC"}[phase], voltage_[phase]);
  }
  inverter.set("A", amps);
  inverter.set("W", ac_power_w_);
  inverter.set("Hz", frequency_);
  inverter.set("VA", ac_power_w_ / 0.99);
  inverter.set("VAr", ac_power_w_ * 0.14);
  inverter.set("PF", 99.0);
  inverter.set("WH", std::floor(energy_wh_));
  const double dc_w = string_power_w_[0] + string_power_w_[1];
  inverter.set("DCV", 620.0);
  inverter.set("DCA", dc_w / 620.0);
  inverter.set("DCW", dc_w);
  inverter.set("TmpCab", 35.0 + dc_w / 500);
  inverter.set("St", ac_power_w_ > 0 ? 4 : 2);  // MPPT, or sleeping
  inverter.set("Evt1", 0);
  inverter.set("Evt2", 0);
  // Left not implemented: the line-to-line voltages, the other temperatures,
  // the vendor state and events.

  ModelImageWriter mppt(model(160), 2);
  mppt.set_scale("DCA_SF", -2);
  mppt.set_scale("DCV_SF", -1);
  mppt.set_scale("DCW_SF", 0);
  mppt.set_scale("DCWH_SF", 0);
  mppt.set("N", 2);
  mppt.set("Evt", 0);
  for (int k = 1; k <= 2; ++k) {
    const double w = string_power_w_[k - 1];
    const double v = k == 1 ? 640.0 : 600.0;
    mppt.set("ID", k, k);
    mppt.set_string("IDStr", k == 1 ? "String 1" : "String 2", k);
    mppt.set("DCV", v, k);
    mppt.set("DCA", w / v, k);
    mppt.set("DCW", w, k);
    mppt.set("DCWH", std::floor(energy_wh_ * (k == 1 ? 0.55 : 0.45)), k);
    mppt.set("DCSt", w > 0 ? 4 : 2, k);
    mppt.set("DCEvt", 0, k);
    // Left not implemented: Tms, Tmp.
  }

  ModelImageWriter meter(model(203));
  meter.set_scale("A_SF", -2);
  meter.set_scale("V_SF", -1);
  meter.set_scale("Hz_SF", -2);
  meter.set_scale("W_SF", 0);
  meter.set_scale("VA_SF", 0);
  meter.set_scale("VAR_SF", 0);
  meter.set_scale("PF_SF", -1);
  meter.set_scale("TotWh_SF", 0);
  const double grid_w = house_load_w_ - ac_power_w_;
  double v_sum = 0;
  for (int phase = 0; phase < 3; ++phase) {
    const auto ph = std::array{"A", "B", "C"}[phase];
    meter.set(std::string("PhVph") + ph, voltage_[phase]);
    meter.set(std::string("Aph") + ph, std::abs(grid_w) / 3 / voltage_[phase]);
    meter.set(std::string("Wph") + ph, grid_w / 3);
    v_sum += voltage_[phase];
  }
  meter.set("PhV", v_sum / 3);
  meter.set("A", std::abs(grid_w) / (v_sum / 3));
  meter.set("Hz", frequency_);
  meter.set("W", grid_w);
  meter.set("PF", 95.0);
  meter.set("TotWhImp", std::floor(import_wh_));
  meter.set("TotWhExp", std::floor(export_wh_));
  meter.set("Evt", 0);
  // Left not implemented: line-to-line voltages, VA, VAR per phase, the
  // apparent and reactive energies, the per-phase energies.

  image.holding.assign(sunspec::kBases[0], 0);
  image.holding.push_back(sunspec::kMarkerHigh);
  image.holding.push_back(sunspec::kMarkerLow);
  for (const auto* m : {&common, &inverter, &mppt, &meter}) {
    image.holding.insert(image.holding.end(), m->words().begin(), m->words().end());
  }
  image.holding.push_back(sunspec::kEndId);
  image.holding.push_back(0);
  image.input.clear();
  image.coils.clear();
  image.discrete_inputs.clear();
}

}  // namespace fieldgate::sim
