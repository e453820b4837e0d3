// A device model from the library (docs/MODELS.md): a meter's register map
// as data, loaded from a TOML file in the models directories, and the
// identification probe `fieldgate scan` evaluates to recognise the meter.
// The points are read by the schema of the driver that uses the model, so a
// model's point is exactly a [[devices.points]] entry.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace fieldgate::config {

/// One test of a model's identification probe: the value of one of the
/// model's points (in its units: after scale and offset) must lie in one of
/// the `within` ranges, or equal one of the `equals` values. Exactly one of
/// the two lists is set.
struct ProbeCheck {
  std::string point;                              // a numeric point of the model
  std::vector<std::pair<double, double>> within;  // [lo, hi], both included
  std::vector<double> equals;                     // exact values (identification registers)
  SourcePos pos;
};

/// A model as loaded: what the file says about the meter, its points (read
/// by a driver's schema) and its probe.
struct Model {
  std::string name;  // the file's stem: `model = "eastron-sdm630"`
  std::string path;  // the file it was read from
  std::string dir;   // the models directory it was found in
  std::string vendor;
  std::string model;  // the manufacturer's name of the product
  std::string description;
  std::string source_document;  // the register map it was written from
  std::string source_version;
  std::vector<std::string> drivers;  // the `driver = "..."` values that can use it
  HaDeviceConfig homeassistant;      // a device's default Home Assistant block
  std::vector<PointConfig> points;   // in file order, names unique
  std::vector<ProbeCheck> probe;     // at least one check
  /// Each point's driver keys as written (after [defaults]), e.g. kind =
  /// "input", address = "0": for listing a map without knowing the driver.
  std::vector<std::vector<std::pair<std::string, std::string>>> written;

  /// The point named `name`, or nullptr.
  [[nodiscard]] const PointConfig* find_point(std::string_view name) const noexcept;
};

/// Why a probe did or did not match.
struct ProbeVerdict {
  bool matched = false;
  /// When not matched: the first check that failed, e.g. "voltage_l1 = 12.5,
  /// expected 207..253 or 99..121" or "frequency: no value".
  std::string reason;
};

/// Evaluates `probe` with the values `value_of(point)` gives (nullopt: the
/// point could not be read or decoded). Every check must pass. A NaN or
/// infinite value passes no check.
[[nodiscard]] ProbeVerdict evaluate_probe(
    std::span<const ProbeCheck> probe,
    const std::function<std::optional<double>(std::string_view point)>& value_of);

}  // namespace fieldgate::config
