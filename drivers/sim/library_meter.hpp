// A meter of the device library (models/*.toml, docs/MODELS.md) as a
// simulator profile: `fieldgate simulate modbus-tcp --profile eastron-sdm630`.
// The register map is the model file itself; each point is filled with a
// plausible value chosen by its name (docs/MODELS.md's naming convention),
// encoded with the point's type, byte order, scale and offset. The values
// come from the power-meter profile's physics, so they move slowly and the
// energy counters never go back; the model's identification probe passes.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "drivers/sim/device_model.hpp"
#include "drivers/sim/power_meter.hpp"

namespace fieldgate::sim {

/// The electrical state a library meter shows, in the units of the naming
/// convention (V, A, W, var, VA, Hz, kWh, kvarh, %).
struct MeterState {
  double voltage[3] = {230, 230, 230};
  double current[3] = {0, 0, 0};
  double power_factor = 1;  // the same on every phase
  double frequency = 50;
  double import_kwh = 0;
  double export_kwh = 0;
  int phases = 3;  // 1 for a single-phase meter: totals are L1's
};

/// The value the point named `name` shows in `state`, or nullopt for a name
/// outside the convention (the point then reads 0).
[[nodiscard]] std::optional<double> convention_value(std::string_view name,
                                                     const MeterState& state);

class LibraryMeter final : public DeviceModel {
 public:
  /// `model` must be a Modbus model (its points carry Modbus settings).
  explicit LibraryMeter(config::Model model, std::uint32_t seed = 42);

  void step(double dt_s) override { physics_.step(dt_s); }
  void render(RegisterImage& image) const override;

  [[nodiscard]] const config::Model& model() const noexcept { return model_; }
  [[nodiscard]] MeterState state() const;

 private:
  config::Model model_;
  PowerMeter physics_;
  int phases_;
  std::size_t sizes_[4] = {0, 0, 0, 0};  // by modbus::RegisterKind
};

/// The library model `name`, found in `dirs` (config::default_model_dirs()
/// for `fieldgate simulate`), as a simulated meter. Throws
/// std::runtime_error when it is missing, has errors or is not for Modbus.
[[nodiscard]] std::unique_ptr<LibraryMeter> make_library_meter(std::span<const std::string> dirs,
                                                               std::string_view name);

}  // namespace fieldgate::sim
