// Home Assistant keys. Overrides are checked against the component the point
// becomes (an unknown device_class lists that component's classes), and a
// state_class against the device class in effect (the override, else the
// unit's), as Home Assistant would refuse them at discovery time -- with a
// log line nobody at the gateway reads.
#include "config/loader_homeassistant.hpp"

#include <fmt/format.h>

#include <array>
#include <map>
#include <string>
#include <string_view>

#include "config/bounds.hpp"
#include "config/homeassistant.hpp"
#include "config/schema.hpp"

namespace fieldgate::config {
namespace {

constexpr std::array<std::string_view, 2> kEntityCategories{"config", "diagnostic"};

// Home Assistant refuses a topic level with wildcards, and '$' topics are the
// broker's.
std::string prefix_problem(std::string_view prefix) {
  if (prefix.empty()) return "expected a topic such as \"homeassistant\", got \"\"";
  if (prefix.front() == '/' || prefix.back() == '/' || prefix.find("//") != std::string_view::npos)
    return fmt::format("expected a topic without empty levels, got {}", quote(prefix));
  for (char c : prefix) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '/';
    if (!ok)
      return fmt::format("expected letters, digits, '_', '-', '.' and '/' (a topic prefix), got {}",
                         quote(prefix));
  }
  return {};
}

void read_device_class(Section& s, HaEntityConfig& e, ha::Component component) {
  const auto text = s.string("device_class");
  if (!text) return;
  const auto allowed = ha::device_classes(component);
  for (const auto name : allowed) {
    if (name == *text) {
      e.device_class = *text;
      return;
    }
  }
  if (allowed.empty()) {
    s.report("device_class", fmt::format("a {} has no device class; got {}",
                                         ha::to_string(component), quote(*text)));
    return;
  }
  s.report("device_class",
           fmt::format("expected one of the {} device classes: {}; got {}",
                       ha::to_string(component), fmt::join(allowed, ", "), quote(*text)));
}

void read_state_class(Section& s, const PointConfig& point, HaEntityConfig& e,
                      ha::Component component) {
  const auto index = s.one_of("state_class", ha::state_classes());
  if (!index) return;
  const std::string_view state_class = ha::state_classes()[*index];
  if (component != ha::Component::kSensor) {
    s.report("state_class", fmt::format("state_class is for sensors; this point is a {}",
                                        ha::to_string(component)));
    return;
  }
  const std::string_view device_class = e.device_class
                                            ? std::string_view(*e.device_class)
                                            : ha::classes_for_unit(point.unit).device_class;
  const auto allowed = ha::state_classes_for(device_class);
  for (const auto name : allowed) {
    if (name == state_class) {
      e.state_class = std::string(state_class);
      return;
    }
  }
  s.report("state_class",
           allowed.empty()
               ? fmt::format("device class {} has no state class; got {}", quote(device_class),
                             quote(state_class))
               : fmt::format("device class {} allows state_class {}; got {}", quote(device_class),
                             fmt::join(allowed, " or "), quote(state_class)));
}

}  // namespace

HomeAssistantConfig read_homeassistant(Section& s) {
  HomeAssistantConfig h;
  h.pos = s.pos();
  assign(h.enabled, s.boolean("enabled"));
  if (const auto prefix = s.bounded_string("discovery_prefix", kMaxNameBytes)) {
    if (const auto problem = prefix_problem(*prefix); !problem.empty()) {
      s.report("discovery_prefix", problem);
    } else {
      h.discovery_prefix = *prefix;
    }
  }
  assign(h.node_id, s.name("node_id", Need::kOptional));
  assign(h.resend_interval, s.duration("resend_interval", bounds::kHaResendInterval));
  s.check_unknown_keys();
  return h;
}

void read_device_homeassistant(Section& s, DeviceConfig& device) {
  const toml::table* table = s.table("homeassistant", "homeassistant = { model = \"...\" }");
  if (table == nullptr) return;
  Section h = s.child(*table, "homeassistant", kHaDeviceKeys);
  assign(device.homeassistant.manufacturer, h.bounded_string("manufacturer", kMaxNameBytes));
  assign(device.homeassistant.model, h.bounded_string("model", kMaxNameBytes));
  h.check_unknown_keys();
}

void read_point_homeassistant(Section& s, PointConfig& point) {
  const toml::table* table = s.table("homeassistant", "homeassistant = { device_class = \"...\" }");
  if (table == nullptr) return;
  Section h = s.child(*table, "homeassistant", kHaPointKeys);
  // Installed first: the component chosen below is what component_of(point) reads.
  auto overrides = std::make_shared<HaEntityConfig>();
  point.homeassistant = overrides;
  HaEntityConfig& e = *overrides;
  if (const auto index = h.one_of("component", ha::component_names())) {
    const auto component = *ha::component_named(ha::component_names()[*index]);
    if (const auto why = ha::incompatibility(component, point); !why.empty()) {
      h.report("component", fmt::format("{} (got {})", why, quote(ha::to_string(component))));
    } else {
      e.component = std::string(ha::to_string(component));
    }
  }
  const ha::Component component = ha::component_of(point);
  if (const auto name = h.bounded_string("name", kMaxNameBytes)) {
    if (name->empty()) {
      h.report("name", "expected the entity's name, got \"\"");
    } else {
      e.name = *name;
    }
  }
  read_device_class(h, e, component);
  read_state_class(h, point, e, component);
  if (const auto icon = h.bounded_string("icon", kMaxNameBytes)) {
    const auto colon = icon->find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == icon->size()) {
      h.report("icon", fmt::format("expected an icon such as \"mdi:flash\", got {}", quote(*icon)));
    } else {
      e.icon = *icon;
    }
  }
  if (const auto index = h.one_of("entity_category", kEntityCategories)) {
    const bool read_only =
        component == ha::Component::kSensor || component == ha::Component::kBinarySensor;
    if (*index == 0 && read_only) {
      h.report("entity_category",
               fmt::format("a {} cannot be a \"config\" entity (it cannot be changed); "
                           "expected \"diagnostic\"",
                           ha::to_string(component)));
    } else {
      e.entity_category = std::string(kEntityCategories[*index]);
    }
  }
  assign(e.enabled_by_default, h.boolean("enabled_by_default"));
  h.check_unknown_keys();
}

void check_homeassistant(const Config& config, Diagnostics& diag) {
  if (!config.homeassistant.enabled) return;
  struct First {
    std::string path;
    SourcePos pos;
  };
  std::map<std::string, First> seen;
  for (std::size_t d = 0; d < config.devices.size(); ++d) {
    const DeviceConfig& device = config.devices[d];
    for (std::size_t p = 0; p < device.points.size(); ++p) {
      const PointConfig& point = device.points[p];
      if (device.name.empty() || point.name.empty()) continue;  // reported
      const std::string path = fmt::format("devices[{}].points[{}]", d, p);
      const SourcePos pos = diag.position(path + ".name", point.pos);
      const std::string id = ha::object_id(device.name, point.name);
      const auto [it, inserted] = seen.emplace(id, First{path, pos});
      if (!inserted) {
        diag.add(pos, path + ".name",
                 fmt::format("Home Assistant object id {:?} (device {:?}, point {:?}) is also "
                             "the object id of {} at line {}: names are normalised to a-z, 0-9, "
                             "'_' and '-' (rename one of them)",
                             id, device.name, point.name, it->second.path, it->second.pos.line));
      }
    }
  }
}

}  // namespace fieldgate::config
