#include "config/model_library.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

#include "config/diagnostics.hpp"
#include "config/driver_schema.hpp"
#include "config/model_file.hpp"
#include "config/suggest.hpp"
#include "config/toml_section.hpp"

#ifndef FIELDGATE_SHIPPED_MODELS_DIR
#define FIELDGATE_SHIPPED_MODELS_DIR "/usr/share/fieldgate/models"
#endif
#ifndef FIELDGATE_USER_MODELS_DIR
#define FIELDGATE_USER_MODELS_DIR "/etc/fieldgate/models.d"
#endif

namespace fieldgate::config {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxModelNameBytes = 64;
// A directory with more files than this is not a models directory.
constexpr std::size_t kMaxFilesPerDir = 10000;

void sort_issues(std::vector<ConfigIssue>& issues) {
  std::stable_sort(issues.begin(), issues.end(), [](const ConfigIssue& a, const ConfigIssue& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
}

}  // namespace

std::vector<std::string> default_model_dirs() {
  const char* shipped = std::getenv("FIELDGATE_MODELS_DIR");
  return {FIELDGATE_USER_MODELS_DIR,
          shipped != nullptr && *shipped != '\0' ? shipped : FIELDGATE_SHIPPED_MODELS_DIR};
}

std::vector<std::string> model_dirs_or_default(std::span<const std::string> dirs) {
  if (dirs.empty()) return default_model_dirs();
  return {dirs.begin(), dirs.end()};
}

std::vector<std::string> resolve_model_dirs(std::span<const std::string> dirs,
                                            std::string_view config_path) {
  if (dirs.empty()) return default_model_dirs();
  const fs::path base = fs::path(config_path).parent_path();
  std::vector<std::string> out;
  for (const std::string& dir : dirs) {
    const fs::path path(dir);
    out.push_back(path.is_relative() && !base.empty() ? (base / path).string() : dir);
  }
  return out;
}

std::string discovery_model_refusal(std::string_view name) {
  // SunSpec devices describe their own register layout: the Modbus driver
  // walks it (drivers/sunspec/), no library file may take the name.
  if (name == "sunspec") {
    return "\"sunspec\" is not a library model: the device's SunSpec models are discovered";
  }
  return {};
}

bool is_model_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxModelNameBytes || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::vector<ModelEntry> list_models(std::span<const std::string> dirs) {
  std::map<std::string, ModelEntry> found;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    std::size_t seen = 0;
    for (; !ec && it != fs::directory_iterator() && seen < kMaxFilesPerDir; it.increment(ec)) {
      ++seen;
      const fs::path& path = it->path();
      if (path.extension() != ".toml") continue;
      const std::string name = path.stem().string();
      if (!is_model_name(name) || !discovery_model_refusal(name).empty()) continue;
      found.emplace(name, ModelEntry{name, path.string(), dir});  // an earlier dir wins
    }
  }
  std::vector<ModelEntry> out;
  out.reserve(found.size());
  for (auto& [name, entry] : found) out.push_back(std::move(entry));
  return out;
}

std::optional<ModelEntry> find_model(std::span<const std::string> dirs, std::string_view name) {
  if (!is_model_name(name)) return std::nullopt;
  for (const std::string& dir : dirs) {
    const fs::path path = fs::path(dir) / (std::string(name) + ".toml");
    std::error_code ec;
    if (fs::exists(path, ec)) return ModelEntry{std::string(name), path.string(), dir};
  }
  return std::nullopt;
}

std::string unknown_model_message(std::span<const std::string> dirs, std::string_view name) {
  std::string message = fmt::format("no model named {} in {}", quote(name), fmt::join(dirs, ", "));
  const std::vector<ModelEntry> known = list_models(dirs);
  std::vector<std::string_view> names;
  for (const ModelEntry& entry : known) names.emplace_back(entry.name);
  if (const auto guess = closest_match(name, names)) {
    message += fmt::format(" (did you mean {}?)", quote(*guess));
  } else if (!is_model_name(name)) {
    message += " (a model's name is lower-case letters, digits and '-')";
  } else {
    message += " (`fieldgate models` lists them)";
  }
  return message;
}

Model load_model_file(const ModelEntry& entry, const SchemaCatalog& catalog) {
  const ModelFile file(entry, catalog);
  std::vector<ConfigIssue> issues = file.issues();
  Model model = file.meta();
  if (!model.drivers.empty()) {
    const std::string& driver = model.drivers.front();
    const DriverSchema* schema = catalog.find(driver);
    // A device of the model's first driver with default settings reads the
    // points; what it says about itself (no host) is not the file's business.
    Diagnostics scratch(entry.path);
    const toml::table empty;
    Section device_table(scratch, empty, "", {});
    DeviceConfig device;
    const auto reader = schema->read_device(device_table, driver, device);
    model.points = file.read_points(*reader, *schema, issues);
    model.written = file.written_keys();
  }
  if (!issues.empty()) {
    sort_issues(issues);
    throw ConfigError(std::move(issues));
  }
  return model;
}

Model load_model(std::span<const std::string> dirs, std::string_view name,
                 const SchemaCatalog& catalog) {
  const auto entry = find_model(dirs, name);
  if (!entry) {
    throw ConfigError({ConfigIssue{std::string(name), {}, "", unknown_model_message(dirs, name)}});
  }
  return load_model_file(*entry, catalog);
}

}  // namespace fieldgate::config
