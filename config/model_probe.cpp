// A model's identification probe, evaluated on values already decoded (the
// Modbus side, drivers/modbus/model_probe.hpp, reads and decodes them).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "config/model.hpp"

namespace fieldgate::config {
namespace {

std::string expected_of(const ProbeCheck& check) {
  std::vector<std::string> parts;
  for (const auto& [lo, hi] : check.within) parts.push_back(fmt::format("{}..{}", lo, hi));
  for (const double v : check.equals) parts.push_back(fmt::format("{}", v));
  return fmt::format("{}", fmt::join(parts, " or "));
}

bool passes(const ProbeCheck& check, double value) {
  if (!std::isfinite(value)) return false;
  const bool in_range = std::any_of(check.within.begin(), check.within.end(), [&](const auto& r) {
    return value >= r.first && value <= r.second;
  });
  return in_range ||
         std::find(check.equals.begin(), check.equals.end(), value) != check.equals.end();
}

}  // namespace

const PointConfig* Model::find_point(std::string_view point_name) const noexcept {
  const auto it = std::find_if(points.begin(), points.end(),
                               [&](const PointConfig& p) { return p.name == point_name; });
  return it == points.end() ? nullptr : &*it;
}

ProbeVerdict evaluate_probe(
    std::span<const ProbeCheck> probe,
    const std::function<std::optional<double>(std::string_view point)>& value_of) {
  if (probe.empty()) return {false, "the model has no probe"};
  for (const ProbeCheck& check : probe) {
    const std::optional<double> value = value_of(check.point);
    if (!value) return {false, fmt::format("{}: no value", check.point)};
    if (!passes(check, *value)) {
      return {false, fmt::format("{} = {}, expected {}", check.point, *value, expected_of(check))};
    }
  }
  return {true, {}};
}

}  // namespace fieldgate::config
