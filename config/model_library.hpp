// The library of device models (docs/MODELS.md): where model files are
// looked for, which names exist, and loading one file on its own (for
// `fieldgate models`, the simulator's profiles and `scan`). A configuration
// that says `model = "..."` reads its model through the loader
// (config/model_use.hpp), with the same files and checks.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.hpp"

namespace fieldgate::config {

class SchemaCatalog;  // config/driver_schema.hpp

/// The directories searched when [gateway] model_dirs is not given, first
/// match wins: the administrator's (/etc/fieldgate/models.d), then the
/// shipped one: $FIELDGATE_MODELS_DIR when set (a build tree, tests), else
/// where the package installs it (/usr/share/fieldgate/models).
[[nodiscard]] std::vector<std::string> default_model_dirs();

/// `dirs`, or default_model_dirs() when empty; a relative directory is
/// taken relative to the directory of `config_path` (the configuration file
/// that names it), so a configuration can ship with its own models.
[[nodiscard]] std::vector<std::string> resolve_model_dirs(std::span<const std::string> dirs,
                                                          std::string_view config_path);

/// `dirs`, or default_model_dirs() when empty.
[[nodiscard]] std::vector<std::string> model_dirs_or_default(std::span<const std::string> dirs);

/// The one place a `model = "..."` that is not a library file is named:
/// "sunspec" asks for SunSpec discovery (the device describes its own
/// registers; the Modbus driver walks them). Returns "" for a name a library
/// file may have, else why it is not one.
[[nodiscard]] std::string discovery_model_refusal(std::string_view name);

/// A model's name: lower-case letters, digits and '-', starting with a
/// letter or digit, at most 64 bytes (the file is NAME.toml).
[[nodiscard]] bool is_model_name(std::string_view name) noexcept;

/// A model file found in a directory.
struct ModelEntry {
  std::string name;  // the file's stem
  std::string path;
  std::string dir;
};

/// Every model in `dirs` (NAME.toml with a valid name), sorted by name; a
/// name in an earlier directory hides the same name in a later one.
[[nodiscard]] std::vector<ModelEntry> list_models(std::span<const std::string> dirs);

/// The file `name` resolves to, or nullopt.
[[nodiscard]] std::optional<ModelEntry> find_model(std::span<const std::string> dirs,
                                                   std::string_view name);

/// "no model named \"x\" in DIR, DIR (did you mean \"y\"?)": for a name
/// find_model() did not find.
[[nodiscard]] std::string unknown_model_message(std::span<const std::string> dirs,
                                                std::string_view name);

/// Reads and checks one model file on its own, its points read by the schema
/// of its first driver. Throws ConfigError with every problem (file:line:col).
[[nodiscard]] Model load_model_file(const ModelEntry& entry, const SchemaCatalog& catalog);

/// find_model() then load_model_file(); an unknown name throws ConfigError
/// with unknown_model_message().
[[nodiscard]] Model load_model(std::span<const std::string> dirs, std::string_view name,
                               const SchemaCatalog& catalog);

}  // namespace fieldgate::config
