// A model file's own keys, and its points read through a device's reader.
// Same rules as the configuration (config/loader.cpp's design notes): every
// problem is reported with the file's path, line and column, and a file with
// any problem is not used at all (never half a model).
#include "config/model_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <string_view>

#include "config/bounds.hpp"
#include "config/diagnostics.hpp"
#include "config/file_read.hpp"
#include "config/loader_homeassistant.hpp"
#include "config/schema.hpp"
#include "config/suggest.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {
namespace {

constexpr auto kModelKeys =
    std::to_array<std::string_view>({"vendor", "model", "description", "drivers", "source",
                                     "defaults", "homeassistant", "probe", "points"});
constexpr auto kSourceKeys = std::to_array<std::string_view>({"document", "version", "url"});
constexpr auto kProbeKeys = std::to_array<std::string_view>({"point", "within", "equals"});
// A model's point is a [[devices.points]] entry without what is the user's
// choice: topics, QoS, publish policy, writes.
constexpr auto kModelPointKeys =
    std::to_array<std::string_view>({"name", "scale", "offset", "unit", "homeassistant"});

std::string lower_first(std::string_view text) {
  std::string out(text);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] + 32);
  return out;
}

// A string of 1..max_bytes.
std::optional<std::string> text(Section& s, std::string_view key, std::size_t max_bytes,
                                Need need) {
  auto value = s.string(key, need);
  if (!value) return value;
  if (value->empty() || value->size() > max_bytes) {
    s.report(key, fmt::format("expected a text of 1 to {} bytes, got {} bytes", max_bytes,
                              value->size()));
    return std::nullopt;
  }
  return value;
}

std::optional<double> finite_number(const toml::node& node) {
  double v = 0;
  if (const auto* i = node.as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    v = f->get();
  } else {
    return std::nullopt;
  }
  return std::isfinite(v) ? std::optional(v) : std::nullopt;
}

void read_drivers(Section& s, const SchemaCatalog& catalog, Model& meta) {
  const toml::node* node = s.find("drivers");
  if (node == nullptr) {
    s.missing("drivers",
              "the drivers that can read the model, e.g. [\"modbus-tcp\", \"modbus-rtu\"]");
    return;
  }
  const auto names = catalog.driver_names();
  const std::string expected = fmt::format("an array of driver names ({})", fmt::join(names, ", "));
  const toml::array* array = node->as_array();
  if (array == nullptr || array->empty()) {
    s.report("drivers", fmt::format("expected {}, got {}", expected, describe(*node)));
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* name = element.as_string();
    if (name == nullptr || std::find(names.begin(), names.end(), name->get()) == names.end()) {
      s.diagnostics().add(pos_of(element.source()), fmt::format("drivers[{}]", i),
                          fmt::format("expected {}, got {}", expected, describe(element)));
      continue;
    }
    meta.drivers.push_back(name->get());
  }
}

// `within = [[lo, hi], ...]` or `equals = [v, ...]`, exactly one.
void read_probe_values(Section& s, ProbeCheck& check) {
  const bool within = s.has("within");
  if (within == s.has("equals")) {
    if (within) {
      s.report("equals", "give either within or equals, not both");
    } else {
      s.missing("within", "a probe check needs within = [[lo, hi], ...] or equals = [value, ...]");
    }
    return;
  }
  const std::string_view key = within ? "within" : "equals";
  const toml::node& node = *s.find(key);
  const toml::array* array = node.as_array();
  const std::string expected =
      within ? fmt::format("an array of 1 to {} ranges [lo, hi] (numbers, lo <= hi)",
                           bounds::kMaxProbeValues)
             : fmt::format("an array of 1 to {} numbers", bounds::kMaxProbeValues);
  const auto bad = [&] {
    s.report(key, fmt::format("expected {}, got {}", expected, describe(node)));
  };
  if (array == nullptr || array->empty() || array->size() > bounds::kMaxProbeValues) return bad();
  for (const toml::node& element : *array) {
    if (!within) {
      const auto v = finite_number(element);
      if (!v) return bad();
      check.equals.push_back(*v);
      continue;
    }
    const toml::array* range = element.as_array();
    if (range == nullptr || range->size() != 2) return bad();
    const auto lo = finite_number(*range->get(0));
    const auto hi = finite_number(*range->get(1));
    if (!lo || !hi || *lo > *hi) return bad();
    check.within.emplace_back(*lo, *hi);
  }
}

void read_probe(Section& s, Model& meta) {
  if (!s.has("probe")) {
    s.missing("probe", "a model needs at least one [[probe]] check, for `fieldgate scan`");
    return;
  }
  const toml::array* probe = s.array_of_tables("probe", "[[probe]]");
  if (probe == nullptr) return;
  if (probe->empty() || probe->size() > bounds::kMaxProbeChecks) {
    s.report("probe", fmt::format("expected 1 to {} [[probe]] checks, got {}",
                                  bounds::kMaxProbeChecks, probe->size()));
    return;
  }
  s.for_each_table(*probe, "probe", kProbeKeys, [&](Section& c) {
    ProbeCheck check;
    check.pos = c.pos_of_key("point");
    assign(check.point, c.name("point", Need::kRequired));
    read_probe_values(c, check);
    c.check_unknown_keys();
    meta.probe.push_back(std::move(check));
  });
}

}  // namespace

void append_unique(std::vector<ConfigIssue>& into, std::vector<ConfigIssue> more) {
  for (ConfigIssue& issue : more) {
    const bool seen = std::any_of(into.begin(), into.end(), [&](const ConfigIssue& known) {
      return known.file == issue.file && known.pos.line == issue.pos.line &&
             known.pos.column == issue.pos.column && known.message == issue.message;
    });
    if (!seen) into.push_back(std::move(issue));
  }
}

ModelFile::ModelFile(const ModelEntry& entry, const SchemaCatalog& catalog) : catalog_(&catalog) {
  meta_.name = entry.name;
  meta_.path = entry.path;
  meta_.dir = entry.dir;
  const FileRead file = read_regular_file(entry.path, kMaxConfigBytes);
  if (!file.error.empty()) {
    issues_.push_back({entry.path, {}, "", file.what()});
    return;
  }
  try {
    root_ = toml::parse(file.text, std::string_view(entry.path));
  } catch (const toml::parse_error& e) {
    issues_.push_back({entry.path, pos_of(e.source()), "", lower_first(e.description())});
    return;
  }
  parsed_ = true;
  read_keys(catalog);
}

void ModelFile::read_keys(const SchemaCatalog& catalog) {
  Diagnostics diag(meta_.path);
  Section s(diag, root_, "", kModelKeys);
  assign(meta_.vendor, text(s, "vendor", kMaxNameBytes, Need::kRequired));
  assign(meta_.model, text(s, "model", kMaxNameBytes, Need::kRequired));
  assign(meta_.description, text(s, "description", bounds::kMaxModelTextBytes, Need::kOptional));
  read_drivers(s, catalog, meta_);
  if (!s.has("source")) {
    s.missing("source", "the register map the model was written from: document and version");
  } else if (const toml::table* source = s.table("source", "[source]")) {
    Section src = s.child(*source, "source", kSourceKeys);
    assign(meta_.source_document,
           text(src, "document", bounds::kMaxModelTextBytes, Need::kRequired));
    assign(meta_.source_version, text(src, "version", kMaxNameBytes, Need::kRequired));
    (void)text(src, "url", bounds::kMaxModelTextBytes, Need::kOptional);
    src.check_unknown_keys();
  }
  point_keys_ = catalog.point_keys(kModelPointKeys);
  if (const toml::table* defaults = s.table("defaults", "[defaults]")) {
    // Any point key but the name; the values are checked with each point.
    std::vector<std::string_view> keys(point_keys_.begin() + 1, point_keys_.end());
    Section d = s.child(*defaults, "defaults", keys);
    d.check_unknown_keys();
    defaults_ = defaults;
  }
  DeviceConfig device;  // the device-level `homeassistant = { manufacturer, model }`
  read_device_homeassistant(s, device);
  meta_.homeassistant = device.homeassistant;
  read_probe(s, meta_);
  if (!s.has("points")) {
    s.missing("points", "a model needs at least one [[points]] entry");
  } else if ((points_ = s.array_of_tables("points", "[[points]]")) != nullptr &&
             (points_->empty() || points_->size() > bounds::kMaxModelPoints)) {
    s.report("points", fmt::format("expected 1 to {} [[points]] entries, got {}",
                                   bounds::kMaxModelPoints, points_->size()));
    points_ = nullptr;
  }
  s.check_unknown_keys();
  issues_ = diag.take_issues();
}

std::vector<std::vector<std::pair<std::string, std::string>>> ModelFile::written_keys() const {
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  if (points_ == nullptr) return out;
  for (const toml::node& element : *points_) {
    const toml::table* point = element.as_table();
    if (point == nullptr) continue;
    std::vector<std::pair<std::string, std::string>> keys;
    for (std::string_view key : point_keys_) {
      if (std::find(kModelPointKeys.begin(), kModelPointKeys.end(), key) != kModelPointKeys.end())
        continue;
      const toml::node* node = point->get(key);
      if (node == nullptr && defaults_ != nullptr) node = defaults_->get(key);
      if (node == nullptr) continue;
      std::string text;
      if (const auto* str = node->as_string()) {
        text = str->get();
      } else if (const auto* i = node->as_integer()) {
        text = std::to_string(i->get());
      } else {
        text = describe(*node);
      }
      keys.emplace_back(std::string(key), std::move(text));
    }
    out.push_back(std::move(keys));
  }
  return out;
}

std::vector<PointConfig> ModelFile::read_points(PointReader& reader, const DriverSchema& schema,
                                                std::vector<ConfigIssue>& issues,
                                                const toml::table* device) const {
  std::vector<PointConfig> out;
  if (!parsed_ || points_ == nullptr) return out;
  // The model's defaults, with the device's own value of any key both set
  // (the device's table was checked by its own schema already).
  toml::table defaults;
  if (defaults_ != nullptr) {
    defaults = *defaults_;
    if (device != nullptr) {
      for (const auto& [key, node] : *defaults_) {
        if (const toml::node* own = device->get(key.str())) {
          own->visit([&](const auto& value) { defaults.insert_or_assign(key, value); });
        }
      }
    }
  }
  Diagnostics diag(meta_.path);
  Section root(diag, root_, "", kModelKeys);
  std::map<std::string, int, std::less<>> first_line;  // point name -> line
  root.for_each_table(*points_, "points", point_keys_, [&](Section& p) {
    // The device's own value of a key [defaults] sets wins (its table was
    // checked by its own schema); copying tables would lose their positions.
    if (defaults_ != nullptr) p.inherit(*defaults_, device);
    PointConfig point = reader.read(p);
    read_point_homeassistant(p, point);
    catalog_->reject_foreign_point_keys(p, schema);
    p.check_unknown_keys();
    if (!point.name.empty()) {
      const int line = p.pos_of_key("name").line;
      const auto [it, inserted] = first_line.emplace(point.name, line);
      if (!inserted) {
        p.report("name", fmt::format("duplicate point name {} (first defined at line {})",
                                     quote(point.name), it->second));
      }
    }
    out.push_back(std::move(point));
  });
  std::vector<std::string_view> names;
  for (const PointConfig& point : out) names.emplace_back(point.name);
  for (std::size_t i = 0; i < meta_.probe.size(); ++i) {
    const ProbeCheck& check = meta_.probe[i];
    if (check.point.empty()) continue;  // reported
    const std::string path = fmt::format("probe[{}].point", i);
    const auto it = std::find_if(out.begin(), out.end(),
                                 [&](const PointConfig& p) { return p.name == check.point; });
    if (it == out.end()) {
      std::string message = fmt::format("no point named {} in this model", quote(check.point));
      if (const auto guess = closest_match(check.point, names)) {
        message += fmt::format(" (did you mean {}?)", quote(*guess));
      }
      diag.add(check.pos, path, std::move(message));
    } else if (it->value_kind != ValueKind::kNumber) {
      diag.add(
          check.pos, path,
          fmt::format("point {} is not a number; a probe compares numbers", quote(check.point)));
    }
  }
  append_unique(issues, diag.take_issues());
  return out;
}

}  // namespace fieldgate::config
