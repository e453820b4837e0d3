// One model file, parsed and its own keys read (vendor, source, drivers,
// defaults, Home Assistant block, probe); its points are read on demand by
// the PointReader of the device that uses it, so they are checked against
// that device exactly as its own [[devices.points]] are. Private to config/.
#pragma once

#include <toml++/toml.h>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/driver_schema.hpp"
#include "config/model.hpp"
#include "config/model_library.hpp"

namespace fieldgate::config {

class ModelFile {
 public:
  /// Reads `entry.path` (a regular file of at most 4 MiB) and its own keys;
  /// problems are kept in issues(), never thrown.
  ModelFile(const ModelEntry& entry, const SchemaCatalog& catalog);

  /// What the file says, without points (Model::points is empty).
  [[nodiscard]] const Model& meta() const noexcept { return meta_; }
  /// Problems of the file itself (syntax, its own keys).
  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }

  /// Each point's keys but name, scale, offset, unit and homeassistant, as
  /// written (Model::written).
  [[nodiscard]] std::vector<std::vector<std::pair<std::string, std::string>>> written_keys() const;

  /// Reads the points with `reader` (a device's, of a driver in
  /// meta().drivers, whose schema is `schema`) and checks the probe against
  /// them. Appends problems to `issues` (each once); on any, the points are
  /// not to be used. A key of `device` (the [[devices]] table using the
  /// model) that [defaults] also sets replaces the default, so a device's
  /// `byte_order` re-orders the points that take the model's default order
  /// (not a point that writes its own).
  [[nodiscard]] std::vector<PointConfig> read_points(PointReader& reader,
                                                     const DriverSchema& schema,
                                                     std::vector<ConfigIssue>& issues,
                                                     const toml::table* device = nullptr) const;

 private:
  void read_keys(const SchemaCatalog& catalog);

  Model meta_;
  toml::table root_;
  bool parsed_ = false;
  const toml::array* points_ = nullptr;  // in root_
  const toml::table* defaults_ = nullptr;
  std::vector<std::string_view> point_keys_;  // what a model point may have
  const SchemaCatalog* catalog_ = nullptr;
  std::vector<ConfigIssue> issues_;
};

/// Appends each of `more` to `into` unless an issue with the same file,
/// position and message is there already (a bad [defaults] value is found
/// once per point that inherits it).
void append_unique(std::vector<ConfigIssue>& into, std::vector<ConfigIssue> more);

}  // namespace fieldgate::config
