// A [[devices]] entry's points: its own [[devices.points]] and, with
// `model = "..."`, the library model's (all, or those `model_points` or the
// names in `points` choose); an own point with a model point's name replaces
// it. Called by config/loader.cpp for every device. Private to config/.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/driver_schema.hpp"
#include "config/model_file.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// The model files one configuration uses, each read once; their problems
/// are reported once, however many devices use them.
class ModelLibrary {
 public:
  ModelLibrary(std::vector<std::string> dirs, const SchemaCatalog& catalog)
      : dirs_(std::move(dirs)), catalog_(catalog) {}

  [[nodiscard]] const std::vector<std::string>& dirs() const noexcept { return dirs_; }
  /// The file `name` resolves to (read on first use), or nullptr.
  [[nodiscard]] const ModelFile* find(const std::string& name);
  /// Adds the issues not reported before to `diag`; returns whether there were any.
  bool report(std::vector<ConfigIssue> issues, Diagnostics& diag);

 private:
  std::vector<std::string> dirs_;
  const SchemaCatalog& catalog_;
  std::map<std::string, std::unique_ptr<ModelFile>> files_;
  std::set<std::string> reported_;
};

/// [gateway] model_dirs: 1 to bounds::kMaxModelDirs directories (${ENV} allowed).
void read_model_dirs(Section& s, GatewayConfig& gateway);

/// Reads `model`, `model_points` and `points` of a [[devices]] entry into
/// `device.points`. `schema` and `reader` are the device's driver's (null
/// when it has none: the points are then only checked for their shape).
void read_device_points(Section& s, DeviceConfig& device, const SchemaCatalog& drivers,
                        const DriverSchema* schema, PointReader* reader, ModelLibrary& models);

}  // namespace fieldgate::config
