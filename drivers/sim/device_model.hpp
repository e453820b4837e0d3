// What a `fieldgate simulate` Modbus profile is to the server: a model that
// advances in time and renders its register tables. One per profile name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "drivers/sim/power_meter.hpp"

namespace fieldgate::sim {

class DeviceModel {
 public:
  virtual ~DeviceModel() = default;
  /// Advances the model by dt seconds.
  virtual void step(double dt_s) = 0;
  /// Writes the current state into `image` (resizing its tables to the map).
  virtual void render(RegisterImage& image) const = 0;
};

/// The built-in Modbus profiles (power-meter, sunspec-inverter).
[[nodiscard]] std::vector<std::string> builtin_modbus_profiles();
/// The device library's model names (config::default_model_dirs()): each is
/// a profile too (drivers/sim/library_meter.hpp).
[[nodiscard]] std::vector<std::string> library_profiles();
/// Every Modbus profile: the built-in ones, then the library's.
[[nodiscard]] std::vector<std::string> modbus_profiles();
/// The model of `profile` (a built-in name or a library model); throws
/// std::runtime_error naming the valid ones.
[[nodiscard]] std::unique_ptr<DeviceModel> make_device_model(const std::string& profile);

}  // namespace fieldgate::sim
