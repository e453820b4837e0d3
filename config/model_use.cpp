// How a device's points come together (docs/MODELS.md, "Using a model"):
// its own [[devices.points]] first, in file order, then the model's (all, or
// the chosen ones in the order chosen) that no own point replaces by name.
// Own points keep their index, so the positions config/ remembered for them
// stay right for the checks across tables.
#include "config/model_use.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/bounds.hpp"
#include "config/env.hpp"
#include "config/loader_homeassistant.hpp"
#include "config/loader_policy.hpp"
#include "config/model_library.hpp"
#include "config/schema.hpp"
#include "config/suggest.hpp"

namespace fieldgate::config {
namespace {

// One name in `model_points` or `points`.
struct Choice {
  std::string name;
  std::string path;
  SourcePos pos;
};

struct UsedModel {
  const Model* meta = nullptr;
  std::vector<PointConfig> points;
};

std::optional<UsedModel> read_model(Section& s, DeviceConfig& device, const DriverSchema* schema,
                                    PointReader* reader, ModelLibrary& models) {
  if (!s.has("model")) return std::nullopt;
  const auto name = s.string("model");
  if (!name) return std::nullopt;
  if (!discovery_model_refusal(*name).empty()) {
    // The device describes its own registers (SunSpec): no library file; the
    // driver's schema says whether it can discover them.
    if (schema != nullptr && schema->discovers_points(device)) {
      device.model = *name;
    } else if (schema != nullptr) {
      s.report("model", fmt::format("model {} needs a Modbus driver (\"modbus-tcp\" or "
                                    "\"modbus-rtu\"), not {}",
                                    quote(*name), quote(device.driver)));
    }
    return std::nullopt;
  }
  const ModelFile* file = is_model_name(*name) ? models.find(*name) : nullptr;
  if (file == nullptr) {
    s.report("model", unknown_model_message(models.dirs(), *name));
    return std::nullopt;
  }
  const Model& meta = file->meta();
  device.model = *name;
  device.model_path = meta.path;
  std::vector<ConfigIssue> issues = file->issues();
  UsedModel used{&meta, {}};
  const bool readable = schema != nullptr && reader != nullptr && !device.driver.empty();
  if (readable && !meta.drivers.empty()) {
    if (std::find(meta.drivers.begin(), meta.drivers.end(), device.driver) == meta.drivers.end()) {
      s.report("model", fmt::format("model {} is for driver {}, not {}", quote(*name),
                                    fmt::join(meta.drivers, " or "), quote(device.driver)));
      models.report(std::move(issues), s.diagnostics());
      return std::nullopt;
    }
    used.points = file->read_points(*reader, *schema, issues, &s.own_table());
  }
  if (models.report(std::move(issues), s.diagnostics())) {
    s.report("model", fmt::format("model {} ({}) has errors (listed with its file name)",
                                  quote(*name), meta.path));
    return std::nullopt;
  }
  if (!readable) return std::nullopt;
  return used;
}

// `model_points = ["voltage_l1", ...]`.
void read_model_points_key(Section& s, std::vector<Choice>& choices) {
  const toml::node* node = s.find("model_points");
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr || array->empty()) {
    s.report("model_points",
             fmt::format("expected an array of the model's point names, got {}", describe(*node)));
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string path = fmt::format("{}[{}]", s.path_of("model_points"), i);
    if (const auto* text = element.as_string()) {
      choices.push_back({text->get(), path, pos_of(element.source())});
    } else {
      s.diagnostics().add(pos_of(element.source()), path,
                          "expected a point name of the model, got " + describe(element));
    }
  }
}

// The device's own points (tables of `points`), and the model point names
// `points` may hold instead.
std::vector<PointConfig> read_own_points(Section& s, DeviceConfig& device,
                                         const SchemaCatalog& drivers, const DriverSchema* schema,
                                         PointReader* reader, std::vector<Choice>& choices) {
  std::vector<PointConfig> own;
  const toml::array* points = s.array_of_tables("points", "[[devices.points]]");
  if (points == nullptr) return own;
  own.reserve(points->size());  // held while the gateway runs: no growth slack
  const auto point_keys = drivers.point_keys(kCommonPointKeys);
  for (std::size_t i = 0; i < points->size(); ++i) {
    const toml::node& element = *points->get(i);
    const std::string key = fmt::format("points[{}]", i);
    if (const auto* text = element.as_string()) {
      choices.push_back({text->get(), s.path_of(key), pos_of(element.source())});
      continue;
    }
    if (!element.is_table()) {
      s.diagnostics().add(pos_of(element.source()), s.path_of(key),
                          "expected a table ([[devices.points]]) or a point name of the "
                          "device's model, got " +
                              describe(element));
      continue;
    }
    Section point = s.child(*element.as_table(), key, point_keys);
    if (reader == nullptr) continue;
    PointConfig p = reader->read(point);
    read_point_policy(point, device, p);
    read_point_homeassistant(point, p);
    drivers.reject_foreign_point_keys(point, *schema);
    point.check_unknown_keys();
    own.push_back(std::move(p));
  }
  return own;
}

// The model's points the device takes: all, or the chosen ones in the order
// chosen; unknown and repeated names are reported.
std::vector<PointConfig> chosen_points(Diagnostics& diag, const UsedModel& model,
                                       const std::vector<Choice>& choices) {
  if (choices.empty()) return model.points;
  std::vector<std::string_view> names;
  for (const PointConfig& p : model.points) names.emplace_back(p.name);
  std::vector<PointConfig> out;
  for (const Choice& choice : choices) {
    const auto it = std::find_if(model.points.begin(), model.points.end(),
                                 [&](const PointConfig& p) { return p.name == choice.name; });
    if (it == model.points.end()) {
      std::string message =
          fmt::format("model {} has no point {}", quote(model.meta->name), quote(choice.name));
      if (const auto guess = closest_match(choice.name, names)) {
        message += fmt::format(" (did you mean {}?)", quote(*guess));
      }
      diag.add(choice.pos, choice.path, std::move(message));
    } else if (std::any_of(out.begin(), out.end(),
                           [&](const PointConfig& p) { return p.name == choice.name; })) {
      diag.add(choice.pos, choice.path,
               fmt::format("point {} is chosen twice", quote(choice.name)));
    } else {
      out.push_back(*it);
    }
  }
  return out;
}

}  // namespace

const ModelFile* ModelLibrary::find(const std::string& name) {
  if (const auto it = files_.find(name); it != files_.end()) return it->second.get();
  const auto entry = find_model(dirs_, name);
  if (!entry) return nullptr;
  return files_.emplace(name, std::make_unique<ModelFile>(*entry, catalog_)).first->second.get();
}

bool ModelLibrary::report(std::vector<ConfigIssue> issues, Diagnostics& diag) {
  for (ConfigIssue& issue : issues) {
    if (reported_.insert(issue.to_string()).second) diag.add_issue(std::move(issue));
  }
  return !issues.empty();
}

void read_model_dirs(Section& s, GatewayConfig& gateway) {
  const toml::node* node = s.find("model_dirs");
  if (node == nullptr) return;
  const std::string expected =
      fmt::format("an array of 1 to {} directories (strings)", bounds::kMaxModelDirs);
  const toml::array* array = node->as_array();
  if (array == nullptr || array->empty() || array->size() > bounds::kMaxModelDirs) {
    s.report("model_dirs",
             fmt::format("expected {}, got {}{}", expected, describe(*node),
                         array != nullptr && !array->empty() ? fmt::format(" of {}", array->size())
                                                             : std::string()));
    return;
  }
  std::vector<std::string> dirs;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string path = fmt::format("{}[{}]", s.path_of("model_dirs"), i);
    const SourcePos pos = pos_of(element.source());
    const auto* text = element.as_string();
    if (text == nullptr) {
      s.diagnostics().add(pos, path,
                          fmt::format("expected a directory, got {}", describe(element)));
      continue;
    }
    Substituted sub = substitute_env(text->get());
    if (!sub.ok()) {
      s.diagnostics().add(pos, path, std::move(sub.error));
    } else if (sub.text.empty() || sub.text.size() > bounds::kMaxPathBytes) {
      s.diagnostics().add(pos, path,
                          fmt::format("expected a directory of 1 to {} bytes, got {} bytes",
                                      bounds::kMaxPathBytes, sub.text.size()));
    } else {
      dirs.push_back(std::move(sub.text));
    }
  }
  if (dirs.size() == array->size()) gateway.model_dirs = std::move(dirs);
}

void read_device_points(Section& s, DeviceConfig& device, const SchemaCatalog& drivers,
                        const DriverSchema* schema, PointReader* reader, ModelLibrary& models) {
  const std::optional<UsedModel> model = read_model(s, device, schema, reader, models);
  const bool has_model = s.has("model");
  if (!s.has("points") && !has_model) {
    s.missing("points", "a device needs at least one [[devices.points]] entry, or a model");
  }
  std::vector<Choice> choices;
  read_model_points_key(s, choices);
  const std::size_t listed = choices.size();
  std::vector<PointConfig> own = read_own_points(s, device, drivers, schema, reader, choices);
  if (const toml::node* points = s.find("points");
      points != nullptr && points->is_array() && points->as_array()->empty()) {
    s.report("points", "expected at least one [[devices.points]] entry, got an empty array");
  }
  if (listed > 0 && choices.size() > listed) {
    s.report("model_points", "choose the model's points in model_points or in points, not both");
    choices.resize(listed);
  }
  if (!choices.empty() && !has_model) {
    for (const Choice& choice : choices) {
      s.diagnostics().add(choice.pos, choice.path,
                          fmt::format("the point name {} chooses from a model, and this device has "
                                      "no model = \"...\"",
                                      quote(choice.name)));
    }
  }
  if (!choices.empty() && device.model == "sunspec") {
    s.report(listed > 0 ? "model_points" : "points",
             "a SunSpec device's points are discovered from the device: none can be chosen");
  }
  device.points = std::move(own);
  if (!model) return;
  if (device.homeassistant.manufacturer.empty() && device.homeassistant.model.empty()) {
    device.homeassistant = model->meta->homeassistant;
  }
  std::vector<PointConfig> taken = chosen_points(s.diagnostics(), *model, choices);
  device.points.reserve(device.points.size() + taken.size());
  const std::size_t own_count = device.points.size();
  for (PointConfig& p : taken) {
    const auto end = device.points.begin() + static_cast<std::ptrdiff_t>(own_count);
    const bool replaced = std::any_of(device.points.begin(), end,
                                      [&](const PointConfig& o) { return o.name == p.name; });
    if (!replaced) device.points.push_back(std::move(p));
  }
}

}  // namespace fieldgate::config
