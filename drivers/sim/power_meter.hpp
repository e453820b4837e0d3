// A simulated three-phase power meter: the register image a real meter would
// expose, with values that move like real ones. The register map is documented
// in drivers/sim/README.md and is the contract tests and examples rely on.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace fieldgate::sim {

/// The four Modbus tables of a simulated device.
struct RegisterImage {
  std::vector<std::uint8_t> coils;
  std::vector<std::uint8_t> discrete_inputs;
  std::vector<std::uint16_t> holding;
  std::vector<std::uint16_t> input;
};

class PowerMeter {
 public:
  /// Same seed, same sequence of values.
  explicit PowerMeter(std::uint32_t seed = 42);

  /// Advances the model by dt seconds: voltages wander near 230 V, currents and
  /// power follow a load profile, frequency stays near 50 Hz, energy counters
  /// integrate power and never decrease.
  void step(double dt_s);

  /// Writes the current state into `image` (resizing its tables to the map).
  void render(RegisterImage& image) const;

  [[nodiscard]] double voltage(int phase) const { return voltage_[phase]; }
  [[nodiscard]] double energy_import_wh() const { return energy_import_wh_; }
  [[nodiscard]] double current(int phase) const { return current_[phase]; }
  /// V x I x PF of one phase (0..2), in W.
  [[nodiscard]] double active_power(int phase) const;
  [[nodiscard]] double active_power_total() const;
  [[nodiscard]] double temperature_c() const { return temperature_c_; }
  [[nodiscard]] double energy_export_wh() const { return energy_export_wh_; }
  /// The same for all three phases, 0.90..0.99 (lagging).
  [[nodiscard]] double power_factor() const { return power_factor_; }
  [[nodiscard]] double frequency() const { return frequency_; }
  /// Average active power of the last completed 15-minute block, in W.
  [[nodiscard]] double demand_power_w() const { return demand_power_w_; }

  /// Forces the temperature (to exercise the alarm bit); it drifts back to
  /// about 35 °C within about half an hour of simulated time.
  void set_temperature(double celsius) { temperature_c_ = celsius; }

 private:
  std::mt19937 rng_;
  double voltage_[3];
  double current_[3];
  double power_factor_;
  double frequency_;
  double temperature_c_;
  double energy_import_wh_;
  double energy_export_wh_;
  double t_s_ = 0;
  double demand_power_w_;
  double block_energy_ws_ = 0;  // energy of the current demand block so far
  double block_elapsed_s_ = 0;
};

}  // namespace fieldgate::sim
