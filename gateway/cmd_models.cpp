// `fieldgate models` and `fieldgate models show NAME`: the device library
// (docs/MODELS.md), listed or one model's register map, as a table or JSON.
// Listing loads every model file, so it also checks them all: a file with an
// error is named with its problems (file:line:col) and the exit code is 1.
#include <fmt/format.h>

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_library.hpp"
#include "drivers/registry.hpp"
#include "gateway/command_startup.hpp"
#include "gateway/commands.hpp"

namespace fieldgate::gateway {
namespace {

const config::SchemaCatalog& catalog() {
  static const config::SchemaCatalog kCatalog =
      make_catalog(drivers::make_default_registry(), bridge::make_default_encoders());
  return kCatalog;
}

std::string number(double v) {
  return fmt::format("{}", v);
}

// The driver's keys of point `i` as written ("kind=input address=0 ...").
std::vector<std::pair<std::string, std::string>> keys_of(const config::Model& m, std::size_t i) {
  return i < m.written.size() ? m.written[i] : std::vector<std::pair<std::string, std::string>>{};
}

nlohmann::ordered_json point_json(const config::Model& m, std::size_t i) {
  const config::PointConfig& p = m.points[i];
  nlohmann::ordered_json j{{"name", p.name}};
  for (const auto& [key, value] : keys_of(m, i)) j[key] = value;
  if (p.scale != 1.0) j["scale"] = p.scale;
  if (p.offset != 0.0) j["offset"] = p.offset;
  j["unit"] = p.unit;
  return j;
}

nlohmann::ordered_json model_json(const config::Model& m, bool with_points) {
  nlohmann::ordered_json j{
      {"name", m.name},
      {"vendor", m.vendor},
      {"model", m.model},
      {"description", m.description},
      {"source", {{"document", m.source_document}, {"version", m.source_version}}},
      {"drivers", m.drivers},
      {"file", m.path},
      {"points_count", m.points.size()}};
  nlohmann::ordered_json probe = nlohmann::ordered_json::array();
  for (const auto& check : m.probe) {
    nlohmann::ordered_json c{{"point", check.point}};
    if (!check.within.empty()) c["within"] = check.within;
    if (!check.equals.empty()) c["equals"] = check.equals;
    probe.push_back(std::move(c));
  }
  j["probe"] = std::move(probe);
  if (with_points) {
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < m.points.size(); ++i) points.push_back(point_json(m, i));
    j["points"] = std::move(points);
  }
  return j;
}

std::string probe_text(const config::Model& m) {
  std::vector<std::string> parts;
  for (const auto& check : m.probe) {
    std::vector<std::string> values;
    for (const auto& [lo, hi] : check.within) values.push_back(number(lo) + ".." + number(hi));
    for (const double v : check.equals) values.push_back(number(v));
    parts.push_back(fmt::format("{} in {}", check.point, fmt::join(values, " or ")));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

int list(const ModelsOptions& options, const std::vector<std::string>& dirs, std::ostream& out,
         std::ostream& err) {
  int exit_code = kExitOk;
  std::vector<config::Model> models;
  for (const auto& entry : config::list_models(dirs)) {
    try {
      models.push_back(config::load_model_file(entry, catalog()));
    } catch (const config::ConfigError& e) {
      err << e.what() << '\n';
      exit_code = kExitConfigError;
    }
  }
  if (options.json) {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& m : models) all.push_back(model_json(m, false));
    out << all.dump(2) << '\n';
    return exit_code;
  }
  out << fmt::format("{:<24} {:<20} {:<18} {:>6}  {}\n", "NAME", "VENDOR", "MODEL", "POINTS",
                     "DIRECTORY");
  for (const auto& m : models) {
    out << fmt::format("{:<24} {:<20} {:<18} {:>6}  {}\n", m.name, m.vendor, m.model,
                       m.points.size(), m.dir);
  }
  if (models.empty()) out << "(no models in " << fmt::format("{}", fmt::join(dirs, ", ")) << ")\n";
  return exit_code;
}

int show(const ModelsOptions& options, const std::vector<std::string>& dirs, std::ostream& out,
         std::ostream& err) {
  config::Model m;
  try {
    m = config::load_model(dirs, options.name, catalog());
  } catch (const config::ConfigError& e) {
    err << e.what() << '\n';
    return kExitConfigError;
  }
  if (options.json) {
    out << model_json(m, true).dump(2) << '\n';
    return kExitOk;
  }
  out << fmt::format("{}: {} {}\n", m.name, m.vendor, m.model);
  if (!m.description.empty()) out << m.description << '\n';
  out << fmt::format("source:  {}, {}\nfile:    {}\ndrivers: {}\nprobe:   {}\n\n",
                     m.source_document, m.source_version, m.path, fmt::join(m.drivers, ", "),
                     probe_text(m));
  out << fmt::format("{:<30} {:>8} {:<6} {}\n", "POINT", "SCALE", "UNIT", "REGISTERS");
  for (std::size_t i = 0; i < m.points.size(); ++i) {
    const config::PointConfig& p = m.points[i];
    std::vector<std::string> keys;
    for (const auto& [key, value] : keys_of(m, i)) keys.push_back(key + "=" + value);
    out << fmt::format("{:<30} {:>8} {:<6} {}\n", p.name, number(p.scale), p.unit,
                       fmt::join(keys, " "));
  }
  return kExitOk;
}

}  // namespace

int run_models(const ModelsOptions& options, std::ostream& out, std::ostream& err) {
  const std::vector<std::string> dirs = config::model_dirs_or_default(options.dirs);
  return options.name.empty() ? list(options, dirs, out, err) : show(options, dirs, out, err);
}

}  // namespace fieldgate::gateway
