// The Modbus simulator profiles by name (`simulate modbus-tcp --profile NAME`):
// the built-in ones, then every model of the device library.
#include <algorithm>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "config/model_library.hpp"
#include "config/suggest.hpp"
#include "drivers/sim/device_model.hpp"
#include "drivers/sim/library_meter.hpp"
#include "drivers/sim/sunspec_inverter.hpp"

namespace fieldgate::sim {
namespace {

class PowerMeterModel final : public DeviceModel {
 public:
  void step(double dt_s) override { meter_.step(dt_s); }
  void render(RegisterImage& image) const override { meter_.render(image); }

 private:
  PowerMeter meter_;
};

}  // namespace

std::vector<std::string> builtin_modbus_profiles() {
  return {"power-meter", "sunspec-inverter"};
}

std::vector<std::string> library_profiles() {
  std::vector<std::string> names;
  for (const auto& entry : config::list_models(config::default_model_dirs())) {
    names.push_back(entry.name);
  }
  return names;
}

std::vector<std::string> modbus_profiles() {
  auto names = builtin_modbus_profiles();
  for (auto& name : library_profiles()) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::unique_ptr<DeviceModel> make_device_model(const std::string& profile) {
  if (profile == "power-meter") return std::make_unique<PowerMeterModel>();
  if (profile == "sunspec-inverter") return std::make_unique<SunSpecInverter>();
  const auto dirs = config::default_model_dirs();
  if (config::is_model_name(profile) && config::find_model(dirs, profile)) {
    return make_library_meter(dirs, profile);
  }
  const auto library = library_profiles();
  const auto all = modbus_profiles();
  const std::vector<std::string_view> candidates(all.begin(), all.end());
  const auto near = config::closest_match(profile, candidates);
  throw std::runtime_error(fmt::format(
      "unknown simulator profile \"{}\"{}; valid profiles: {}, or a library model ({}): {}",
      profile, near ? fmt::format(" (did you mean \"{}\"?)", *near) : std::string(),
      fmt::join(builtin_modbus_profiles(), ", "), fmt::join(dirs, ", "),
      library.empty() ? std::string("none found") : fmt::format("{}", fmt::join(library, ", "))));
}

}  // namespace fieldgate::sim
