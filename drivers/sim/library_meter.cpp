// Library meters as simulator profiles (library_meter.hpp).
//
// Design notes.
// 1. The map is the model's own points, read with the Modbus schema exactly
//    as a device using the model reads them; nothing here knows a vendor.
// 2. A value is chosen by the point's name alone (docs/MODELS.md's table),
//    in the convention's units; the model's scale and offset turn it into
//    the raw register value (modbus::encode_point_value), so a meter that
//    counts 0.1 V or kW gets the right raw numbers.
// 3. Tables are as large as the highest point needs; registers between the
//    points read 0 (a real meter may refuse them instead).
#include "drivers/sim/library_meter.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

#include "config/driver_schema.hpp"
#include "config/model_library.hpp"
#include "drivers/modbus/codec.hpp"
#include "drivers/modbus/schema.hpp"

namespace fieldgate::sim {
namespace {

using modbus::RegisterKind;
using modbus::ValueType;

constexpr std::size_t kMaxTable = 65536;  // registers 0..65535
// Reactive energy grows with active energy at tan(acos(0.95)) ~ 0.33.
constexpr double kReactiveShare = 0.33;
constexpr std::array<std::string_view, 3> kPhase = {"_l1", "_l2", "_l3"};

std::size_t index_of(RegisterKind kind) {
  return static_cast<std::size_t>(kind);
}

bool is_integer(ValueType t) {
  return t == ValueType::kInt16 || t == ValueType::kUInt16 || t == ValueType::kInt32 ||
         t == ValueType::kUInt32 || t == ValueType::kInt64 || t == ValueType::kUInt64;
}

// Phase 0..2 of a name ending in _l1.._l3 after `quantity`, or -1.
int phase_of(std::string_view name, std::string_view quantity) {
  if (!name.starts_with(quantity)) return -1;
  const std::string_view rest = name.substr(quantity.size());
  for (int k = 0; k < 3; ++k) {
    if (rest == kPhase[static_cast<std::size_t>(k)]) return k;
  }
  return -1;
}

// A per-phase quantity: `quantity`_l1.._l3, its `quantity`_total (the sum
// over the meter's phases) and, when `average`, `quantity`_avg.
template <class PerPhase>
std::optional<double> phased(std::string_view name, std::string_view quantity, const MeterState& s,
                             PerPhase per_phase, bool average = false) {
  const int k = phase_of(name, quantity);
  if (k >= 0) return k < s.phases ? std::optional(per_phase(k)) : std::nullopt;
  if (!name.starts_with(quantity)) return std::nullopt;
  const std::string_view rest = name.substr(quantity.size());
  double sum = 0;
  for (int p = 0; p < s.phases; ++p) sum += per_phase(p);
  if (rest == "_total") return sum;
  if (average && rest == "_avg") return sum / s.phases;
  return std::nullopt;
}

}  // namespace

std::optional<double> convention_value(std::string_view name, const MeterState& s) {
  const auto sin_phi = std::sqrt(std::max(0.0, 1.0 - s.power_factor * s.power_factor));
  const auto v = [&](int k) { return s.voltage[k]; };
  const auto i = [&](int k) { return s.current[k]; };
  const auto va = [&](int k) { return s.voltage[k] * s.current[k]; };
  const auto w = [&](int k) { return va(k) * s.power_factor; };
  const auto var = [&](int k) { return va(k) * sin_phi; };
  // Energies split evenly over the phases, so L1 + L2 + L3 is the total.
  const auto share = [&](double total) { return [=](int) { return total / s.phases; }; };

  if (name == "frequency") return s.frequency;
  if (name == "energy_total") return s.import_kwh + s.export_kwh;
  if (name == "power_factor_total") return s.power_factor;
  if (phase_of(name, "power_factor") >= 0) return s.power_factor;
  if (name == "current_n") {
    // The magnitude of the phasor sum of three currents 120 degrees apart.
    const double a = i(0), b = i(1), c = i(2);
    return s.phases == 3 ? std::sqrt(std::max(0.0, a * a + b * b + c * c - a * b - b * c - c * a))
                         : a;
  }
  for (int k = 0; k < 3 && s.phases == 3; ++k) {
    const int next = (k + 1) % 3;
    if (name == fmt::format("voltage_l{}_l{}", k + 1, next + 1)) {
      return std::numbers::sqrt3 * (v(k) + v(next)) / 2;
    }
  }
  if (const int k = phase_of(name, "thd_voltage"); k >= 0) return 2.0 + 0.3 * k;
  if (const int k = phase_of(name, "thd_current"); k >= 0) return 8.0 + 1.0 * k;

  const double reactive_import = s.import_kwh * kReactiveShare;
  const double reactive_export = s.export_kwh * kReactiveShare;
  for (const auto& value : {
           phased(name, "voltage", s, v, true),
           phased(name, "current", s, i, true),
           phased(name, "power_active", s, w),
           phased(name, "power_apparent", s, va),
           phased(name, "power_reactive", s, var),
           phased(name, "energy_import", s, share(s.import_kwh)),
           phased(name, "energy_export", s, share(s.export_kwh)),
           phased(name, "energy_total", s, share(s.import_kwh + s.export_kwh)),
           phased(name, "energy_reactive_import", s, share(reactive_import)),
           phased(name, "energy_reactive_export", s, share(reactive_export)),
           phased(name, "energy_reactive", s, share(reactive_import + reactive_export)),
       }) {
    if (value) return value;
  }
  return std::nullopt;
}

LibraryMeter::LibraryMeter(config::Model model, std::uint32_t seed)
    : model_(std::move(model)), physics_(seed), phases_(model_.find_point("voltage_l2") ? 3 : 1) {
  for (const config::PointConfig& point : model_.points) {
    const auto& s = modbus::point_of(point);
    const auto end = static_cast<std::size_t>(s.address) +
                     static_cast<std::size_t>(modbus::register_count(s.type, s.count));
    auto& size = sizes_[index_of(s.kind)];
    size = std::min(kMaxTable, std::max(size, end));
  }
}

MeterState LibraryMeter::state() const {
  MeterState s;
  for (int k = 0; k < 3; ++k) {
    s.voltage[k] = physics_.voltage(k);
    s.current[k] = physics_.current(k);
  }
  s.power_factor = physics_.power_factor();
  s.frequency = physics_.frequency();
  s.phases = phases_;
  // The physics integrates three phases; a single-phase meter counts one.
  s.import_kwh = physics_.energy_import_wh() / 1000 * phases_ / 3;
  s.export_kwh = physics_.energy_export_wh() / 1000 * phases_ / 3;
  return s;
}

void LibraryMeter::render(RegisterImage& image) const {
  image.coils.assign(sizes_[index_of(RegisterKind::kCoil)], 0);
  image.discrete_inputs.assign(sizes_[index_of(RegisterKind::kDiscreteInput)], 0);
  image.holding.assign(sizes_[index_of(RegisterKind::kHolding)], 0);
  image.input.assign(sizes_[index_of(RegisterKind::kInput)], 0);
  const MeterState now = state();
  for (const config::PointConfig& point : model_.points) {
    const auto& s = modbus::point_of(point);
    if (modbus::is_bit_kind(s.kind) || s.type == ValueType::kString) continue;
    auto value = convention_value(point.name, now);
    if (!value) continue;
    if (is_integer(s.type) && point.scale == 1.0 && point.offset == 0.0) {
      *value = std::round(*value);  // an unscaled integer register holds whole units
    }
    const auto encoded =
        modbus::encode_point_value(point, s.order_or(modbus::ByteOrder::kABCD), *value);
    auto& table = s.kind == RegisterKind::kHolding ? image.holding : image.input;
    const auto at = static_cast<std::size_t>(s.address);
    // A value its type cannot hold (a negative one in an unsigned register)
    // stays 0, as does a point past the table.
    if (!encoded.error.empty() || at + encoded.registers.size() > table.size()) continue;
    std::copy(encoded.registers.begin(), encoded.registers.end(),
              table.begin() + static_cast<std::ptrdiff_t>(at));
  }
}

std::unique_ptr<LibraryMeter> make_library_meter(std::span<const std::string> dirs,
                                                 std::string_view name) {
  static const config::SchemaCatalog kCatalog = [] {
    config::SchemaCatalog catalog;
    catalog.add(modbus::make_schema());
    return catalog;
  }();
  config::Model model = config::load_model(dirs, name, kCatalog);
  const bool modbus = std::any_of(model.drivers.begin(), model.drivers.end(), [](const auto& d) {
    return d == "modbus-tcp" || d == "modbus-rtu";
  });
  if (!modbus) {
    throw std::runtime_error(fmt::format("model \"{}\" ({}) is not read over Modbus (drivers: {})",
                                         name, model.path, fmt::join(model.drivers, ", ")));
  }
  return std::make_unique<LibraryMeter>(std::move(model));
}

}  // namespace fieldgate::sim
