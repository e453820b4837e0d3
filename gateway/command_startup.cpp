#include "gateway/command_startup.hpp"

#include <ostream>
#include <utility>

#include <fmt/format.h>

namespace fieldgate::gateway {

config::SchemaCatalog make_catalog(const drivers::DriverRegistry& drivers,
                                   const bridge::EncoderRegistry& encoders) {
  config::SchemaCatalog catalog = drivers.schemas();
  for (auto& format : encoders.formats()) catalog.add_format(std::move(format));
  return catalog;
}

std::optional<config::Config> load_or_report(const std::string& path,
                                             const config::SchemaCatalog& schemas,
                                             std::ostream& err) {
  try {
    return config::load_config(path, schemas);
  } catch (const config::ConfigError& e) {
    for (const auto& issue : e.issues()) err << issue.to_string() << '\n';
    err << fmt::format("{}: {} problem{} found; nothing was started\n", path, e.issues().size(),
                       e.issues().size() == 1 ? "" : "s");
  }
  return std::nullopt;
}

CommandStartup::CommandStartup(std::string path, config::Config config,
                               drivers::DriverRegistry registry)
    : path_(std::move(path)), config_(std::move(config)), registry_(std::move(registry)) {}

std::unique_ptr<CommandStartup> CommandStartup::load(const std::string& path, std::ostream& err,
                                                     drivers::DriverRegistry registry) {
  auto config = load_or_report(path, make_catalog(registry, bridge::make_default_encoders()), err);
  if (!config) return nullptr;
  return std::make_unique<CommandStartup>(path, std::move(*config), std::move(registry));
}

bool CommandStartup::create_drivers(std::ostream& err, const std::string& only) {
  try {
    drivers_ = drivers::create_drivers(config_, registry_, shared_, only);
  } catch (const std::exception& e) {
    err << path_ << ": " << e.what() << '\n';
    return false;
  }
  return true;
}

}  // namespace fieldgate::gateway
