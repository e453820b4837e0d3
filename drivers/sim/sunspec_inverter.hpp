// The `sunspec-inverter` simulator profile: a three-phase PV inverter that
// describes itself with SunSpec models at 40000 -- common (1), inverter
// (103), MPPT (160, two strings) and a grid meter (203) -- built with the
// generated definitions (drivers/sunspec/image_writer.hpp), so it cannot
// drift from what fieldgate decodes. Some points are left "not
// implemented", as on real devices. Map: docs/SUNSPEC.md.
#pragma once

#include <random>

#include "drivers/sim/device_model.hpp"

namespace fieldgate::sim {

class SunSpecInverter final : public DeviceModel {
 public:
  explicit SunSpecInverter(std::uint32_t seed = 42);
  void step(double dt_s) override;
  void render(RegisterImage& image) const override;

  /// The AC power now, in W (what model 103's W reads).
  [[nodiscard]] double ac_power_w() const noexcept { return ac_power_w_; }

 private:
  std::mt19937 rng_;
  double t_s_ = 0;
  double voltage_[3] = {230.0, 230.5, 229.5};
  double frequency_ = 50.0;
  double string_power_w_[2] = {0, 0};
  double ac_power_w_ = 0;
  double energy_wh_ = 12'345'678;  // inverter lifetime
  double import_wh_ = 3'456'789;   // grid meter
  double export_wh_ = 9'876'543;
  double house_load_w_ = 1500;
};

}  // namespace fieldgate::sim
