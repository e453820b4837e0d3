// TOML → Config: the root, [gateway], [[buses]], and what every [[devices]]
// entry has; the keys of a device's driver and its points are read by that
// driver's schema (driver_schema.hpp, drivers/<kind>/schema.cpp). The
// uplink's tables ([store], [mqtt]) are read by loader_uplink.cpp, and the
// typed getters every reader uses are in toml_section.hpp.
//
// Design notes:
//  1. Nothing stops at the first problem: each value is read on its own, a bad
//     one is reported and left at its default, and reading goes on. All issues
//     are thrown together at the end, sorted by position.
//  2. Every string value goes through ${ENV} substitution before it is
//     interpreted (duration, enum, name...). A non-string key (integer, number,
//     boolean) also accepts a string when it holds a ${...} reference, since the
//     environment only has strings: `port = "${MB_PORT:-502}"`.
//  3. Checks that depend on one value only live next to its read; checks that
//     combine values of one table (type vs kind, address + length) follow the
//     reads and run only when every value they use was valid, so one mistake
//     yields one message. Checks across tables live in cross_checks.cpp and
//     (the MQTT topics) uplink_checks.cpp; they skip what was reported already.
#include <fmt/format.h>

#include <toml++/toml.h>
#include <string>
#include <string_view>

#include "config/bounds.hpp"
#include "config/config.hpp"
#include "config/cross_checks.hpp"
#include "config/diagnostics.hpp"
#include "config/driver_schema.hpp"
#include "config/file_read.hpp"
#include "config/loader_homeassistant.hpp"
#include "config/loader_modbus_server.hpp"
#include "config/loader_sparkplug.hpp"
#include "config/loader_policy.hpp"
#include "config/loader_uplink.hpp"
#include "config/model_library.hpp"
#include "config/model_use.hpp"
#include "config/schema.hpp"
#include "config/serial_keys.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {
namespace {

GatewayConfig read_gateway(Section& s) {
  GatewayConfig g;
  assign(g.name, s.name("name", Need::kOptional));
  assign(g.site, s.name("site", Need::kOptional));
  if (const auto level = s.one_of("log_level", kLogLevels)) g.log_level = kLogLevels[*level];
  read_model_dirs(s, g);
  s.check_unknown_keys();
  return g;
}

BusConfig read_bus(Section& s) {
  BusConfig b;
  b.pos = s.pos();
  assign(b.name, s.name("name", Need::kRequired));
  read_serial_settings(s, b);
  assign(b.mode, s.choice("mode", kSerialModes));
  if (const auto delay = s.duration("inter_frame_delay", bounds::kInterFrameDelay))
    b.inter_frame_delay = *delay;
  s.check_unknown_keys();
  return b;
}

DeviceConfig read_device(Section& s, const SchemaCatalog& drivers, ModelLibrary& models) {
  DeviceConfig d;
  d.pos = s.pos();
  assign(d.name, s.name("name", Need::kRequired));
  const auto names = drivers.driver_names();
  const auto driver_index = s.one_of("driver", names, Need::kRequired);
  const std::string_view driver = driver_index ? names[*driver_index] : std::string_view{};
  d.driver = driver;
  // An entry without a (known) driver is still read, by the first schema, so
  // its other mistakes are reported in the same run.
  const DriverSchema* schema = driver_index ? drivers.find(driver) : drivers.fallback();
  std::unique_ptr<PointReader> points_reader;
  if (schema != nullptr) points_reader = schema->read_device(s, driver, d);
  assign(d.poll_interval, s.duration("poll_interval", bounds::kPollInterval));
  assign(d.response_timeout, s.duration("response_timeout", bounds::kResponseTimeout));
  assign(d.backoff_max, s.duration("backoff_max", bounds::kBackoffMax));
  assign(d.offline_after, s.integer("offline_after", 1, bounds::kMaxOfflineAfter));
  read_device_uplink(s, drivers, d);
  read_device_policy(s, d);  // before the points, which start from it
  read_device_homeassistant(s, d);

  // Its own points and its model's (config/model_use.cpp).
  read_device_points(s, d, drivers, schema, points_reader.get(), models);
  if (driver_index) drivers.reject_foreign_device_keys(s, *schema);
  s.check_unknown_keys();
  return d;
}

Config read_root(const toml::table& root, Diagnostics& diag, const std::string& path,
                 const SchemaCatalog& drivers) {
  Config config;
  config.path = path;
  Section s(diag, root, "", kRootKeys);
  if (const toml::table* gateway = s.table("gateway", "[gateway]")) {
    Section g = s.child(*gateway, "gateway", kGatewayKeys);
    config.gateway = read_gateway(g);
  }
  if (const toml::table* store = s.table("store", "[store]")) {
    Section child = s.child(*store, "store", kStoreKeys);
    config.store = read_store(child);
  }
  if (const toml::table* mqtt = s.table("mqtt", "[mqtt]")) {
    Section child = s.child(*mqtt, "mqtt", kMqttKeys);
    config.mqtt = read_mqtt(child, drivers);
    config.has_mqtt = true;
  }
  if (const toml::table* ha = s.table("homeassistant", "[homeassistant]")) {
    Section child = s.child(*ha, "homeassistant", kHomeAssistantKeys);
    config.homeassistant = read_homeassistant(child);
  }
  // The default format ("json") as the program registered it, if it did.
  if (const PayloadFormat* format = drivers.find_format(config.mqtt.payload.name)) {
    config.mqtt.payload = *format;
  }
  config.store.max_reading = config.mqtt.max_payload;  // what could never be published
  if (const toml::array* buses = s.array_of_tables("buses", "[[buses]]")) {
    s.for_each_table(*buses, "buses", kBusKeys,
                     [&](Section& bus) { config.buses.push_back(read_bus(bus)); });
  }
  if (!s.has("devices")) {
    s.missing("devices", "a configuration needs at least one [[devices]] entry");
  } else if (const toml::array* devices = s.array_of_tables("devices", "[[devices]]")) {
    if (devices->empty()) {
      s.report("devices", "expected at least one [[devices]] entry, got an empty array");
    }
    const auto device_keys = drivers.device_keys(kCommonDeviceKeys);
    ModelLibrary models(resolve_model_dirs(config.gateway.model_dirs, path), drivers);
    s.for_each_table(*devices, "devices", device_keys, [&](Section& device) {
      config.devices.push_back(read_device(device, drivers, models));
    });
  }
  read_modbus_server(s, config);  // after the devices: its unit map names them
  read_sparkplug(s, config);      // after [gateway] and the devices: their names are its ids
  s.check_unknown_keys();
  check_cross_references(config, drivers, diag);
  check_uplink(config, diag);
  check_homeassistant(config, diag);
  return config;
}

// toml++ says "Error while parsing ..."; our messages start in lower case.
std::string syntax_message(std::string_view description) {
  std::string message(description);
  if (!message.empty() && message[0] >= 'A' && message[0] <= 'Z') {
    message[0] = static_cast<char>(message[0] - 'A' + 'a');
  }
  return message;
}

}  // namespace

Config load_config_string(std::string_view toml_text, const std::string& path,
                          const SchemaCatalog& drivers) {
  Diagnostics diag(path);
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    // The parser stops at the first syntax error, so this is the only issue.
    diag.add(pos_of(e.source()), "", syntax_message(e.description()));
    diag.throw_if_any();
  }
  Config config = read_root(root, diag, path, drivers);
  diag.throw_if_any();
  return config;
}

Config load_config(const std::string& path, const SchemaCatalog& drivers) {
  // Not a stream: an ifstream blocks forever on a FIFO and reads /dev/zero
  // until memory runs out (issue 14, C9).
  const FileRead file = read_regular_file(path, kMaxConfigBytes);
  if (!file.error.empty()) {
    throw ConfigError({ConfigIssue{path, {}, "", file.what()}});
  }
  return load_config_string(file.text, path, drivers);
}

}  // namespace fieldgate::config
