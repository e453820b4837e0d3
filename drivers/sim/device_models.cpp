// The Modbus simulator profiles by name (`simulate modbus-tcp --profile NAME`).
#include <stdexcept>

#include <fmt/format.h>

#include "drivers/sim/device_model.hpp"
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

std::vector<std::string> modbus_profiles() {
  return {"power-meter", "sunspec-inverter"};
}

std::unique_ptr<DeviceModel> make_device_model(const std::string& profile) {
  if (profile == "power-meter") return std::make_unique<PowerMeterModel>();
  if (profile == "sunspec-inverter") return std::make_unique<SunSpecInverter>();
  throw std::runtime_error(fmt::format("unknown simulator profile \"{}\"; valid profiles: {}",
                                       profile, fmt::join(modbus_profiles(), ", ")));
}

}  // namespace fieldgate::sim
