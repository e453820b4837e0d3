// TOML → Config: the root, [gateway], [[buses]], [[devices]] and their points.
// The uplink's tables ([store], [mqtt]) are read by loader_uplink.cpp, and
// the typed getters every reader uses are in toml_section.hpp; with this file,
// the only ones that include toml++ (it is heavy to compile).
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
#include "config/file_read.hpp"
#include "config/loader_serial.hpp"
#include "config/loader_uplink.hpp"
#include "config/loader_write.hpp"
#include "config/point_rules.hpp"
#include "config/schema.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {
namespace {

GatewayConfig read_gateway(Section& s) {
  GatewayConfig g;
  assign(g.name, s.name("name", Need::kOptional));
  assign(g.site, s.name("site", Need::kOptional));
  if (const auto level = s.one_of("log_level", kLogLevels)) g.log_level = kLogLevels[*level];
  s.check_unknown_keys();
  return g;
}

BusConfig read_bus(Section& s) {
  BusConfig b;
  b.pos = s.pos();
  assign(b.name, s.name("name", Need::kRequired));
  assign(b.port, s.non_empty_string("port", Need::kRequired));
  assign(b.baud, s.integer_of("baud", kBaudRates,
                              "a standard baud rate (1200, 2400, 4800, 9600, 19200, 38400, "
                              "57600, 115200, ... 4000000)"));
  assign(b.parity, s.choice("parity", kParities));
  assign(b.data_bits, s.integer("data_bits", 5, 8));
  assign(b.stop_bits, s.integer("stop_bits", 1, 2));
  assign(b.mode, s.choice("mode", kSerialModes));
  if (const auto delay = s.duration("inter_frame_delay", bounds::kInterFrameDelay))
    b.inter_frame_delay = *delay;
  s.check_unknown_keys();
  return b;
}

PointConfig read_point(Section& s, const DeviceConfig& device, bool max_registers_known) {
  PointConfig p;
  p.pos = s.pos();
  assign(p.name, s.name("name", Need::kRequired));
  const auto kind = s.choice("kind", kRegisterKinds, Need::kRequired);
  const auto address = s.integer("address", 0, 65535, Need::kRequired);
  auto type = s.choice("type", kValueTypes);
  const auto count = s.integer("count", 1, 125);
  const auto bit = s.integer("bit", 0, 15);
  const auto scale = s.number("scale");
  const auto offset = s.number("offset");
  assign(p.unit, s.bounded_string("unit", bounds::kMaxUnitBytes));
  if (const auto interval = s.duration("interval", bounds::kPollInterval)) p.interval = *interval;
  if (const auto order = s.choice("byte_order", kByteOrders)) p.byte_order = *order;
  read_point_uplink(s, p);
  for (std::string_view key : kSerialOnlyPointKeys) {
    s.reject(key, "only allowed for driver \"serial-line\"");
  }

  if (!s.has("type") && kind) {
    type = is_bit_kind(*kind) ? ValueType::kBool : ValueType::kUInt16;
  }
  p.write = read_point_write(s, WriteContext{false, kind, type, std::nullopt});
  s.check_unknown_keys();
  assign(p.kind, kind);
  assign(p.address, address);
  assign(p.type, type);
  assign(p.count, count);
  assign(p.bit, bit);
  assign(p.scale, scale);
  assign(p.offset, offset);

  PointFacts facts;
  facts.kind = kind;
  facts.type = type;
  facts.address = address;
  facts.count = count;
  facts.scale = scale;
  facts.offset = offset;
  facts.has_count = s.has("count");
  facts.has_bit = s.has("bit");
  facts.has_scale = s.has("scale");
  facts.has_offset = s.has("offset");
  facts.has_byte_order = s.has("byte_order");
  if (max_registers_known) facts.max_registers = device.max_registers;
  for (KeyProblem& problem : check_point_rules(facts)) {
    if (problem.missing) {
      s.missing(problem.key, problem.message);
    } else {
      s.report(problem.key, std::move(problem.message));
    }
  }
  return p;
}

// The Modbus keys of a device; returns whether max_registers is known (valid
// or default), which the point rules need.
bool read_modbus_device(Section& s, DeviceConfig& d, std::string_view driver) {
  const bool tcp = driver == kModbusTcp;
  const bool rtu = driver == kModbusRtu;
  if (rtu) {
    s.reject("host", "only allowed for driver \"modbus-tcp\"");
    s.reject("port",
             "only allowed for drivers \"modbus-tcp\" and \"serial-line\" (a modbus-rtu device "
             "uses the port of the [[buses]] entry it names)");
  } else if (tcp && !s.has("host")) {
    s.missing("host", "driver \"modbus-tcp\" needs a host");
  } else {
    assign(d.host, s.non_empty_string("host", Need::kOptional));
  }
  if (!rtu) assign(d.port, s.integer("port", 1, 65535));

  if (tcp) {
    s.reject("bus", "only allowed for driver \"modbus-rtu\"");
  } else if (rtu && !s.has("bus")) {
    s.missing("bus", "driver \"modbus-rtu\" needs a bus, the name of a [[buses]] entry");
  } else {
    assign(d.bus, s.name("bus", Need::kOptional));
  }
  // Unit 0 is the RTU broadcast address: nobody answers a read sent to it.
  // On TCP, libmodbus accepts 0..247 and 255 (the "no gateway" unit id) only.
  if (rtu) {
    assign(d.unit_id, s.integer("unit_id", 1, 247));
  } else if (const auto unit = s.raw_unit_id_tcp(); unit) {
    d.unit_id = static_cast<int>(*unit);
  }
  assign(d.byte_timeout, s.duration("byte_timeout", bounds::kByteTimeout));
  assign(d.retries, s.integer("retries", 0, 10));
  assign(d.byte_order, s.choice("byte_order", kByteOrders));
  assign(d.max_gap, s.integer("max_gap", 0, 125));
  const auto max_registers = s.integer("max_registers", 1, 125);
  assign(d.max_registers, max_registers);
  assign(d.max_bits, s.integer("max_bits", 1, 2000));
  assign(d.single_point_reads, s.boolean("single_point_reads"));
  return max_registers || !s.has("max_registers");
}

DeviceConfig read_device(Section& s) {
  DeviceConfig d;
  d.pos = s.pos();
  assign(d.name, s.name("name", Need::kRequired));
  const auto driver_index = s.one_of("driver", kDrivers, Need::kRequired);
  const std::string_view driver = driver_index ? kDrivers[*driver_index] : std::string_view{};
  d.driver = driver;
  const bool serial = driver == kSerialLine;

  bool max_registers_known = true;
  std::optional<SerialPointContext> serial_points;
  if (serial) {
    reject_modbus_device_keys(s);
    serial_points = read_serial_line(s, d.serial);
  } else {
    if (driver_index) reject_serial_device_keys(s, driver);
    max_registers_known = read_modbus_device(s, d, driver);
  }
  assign(d.poll_interval, s.duration("poll_interval", bounds::kPollInterval));
  assign(d.response_timeout, s.duration("response_timeout", bounds::kResponseTimeout));
  assign(d.backoff_max, s.duration("backoff_max", bounds::kBackoffMax));
  read_device_uplink(s, d);

  if (!s.has("points")) {
    s.missing("points", "a device needs at least one [[devices.points]] entry");
  } else if (const toml::array* points = s.array_of_tables("points", "[[devices.points]]")) {
    if (points->empty()) {
      s.report("points", "expected at least one [[devices.points]] entry, got an empty array");
    }
    d.points.reserve(points->size());  // held while the gateway runs: no growth slack
    s.for_each_table(*points, "points", kPointKeys, [&](Section& point) {
      d.points.push_back(serial_points ? read_serial_point(point, *serial_points)
                                       : read_point(point, d, max_registers_known));
    });
  }
  s.check_unknown_keys();
  return d;
}

Config read_root(const toml::table& root, Diagnostics& diag, const std::string& path) {
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
    config.mqtt = read_mqtt(child);
    config.has_mqtt = true;
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
    s.for_each_table(*devices, "devices", kDeviceKeys,
                     [&](Section& device) { config.devices.push_back(read_device(device)); });
  }
  s.check_unknown_keys();
  check_cross_references(config, diag);
  check_uplink(config, diag);
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

Config load_config_string(std::string_view toml_text, const std::string& path) {
  Diagnostics diag(path);
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    // The parser stops at the first syntax error, so this is the only issue.
    diag.add(pos_of(e.source()), "", syntax_message(e.description()));
    diag.throw_if_any();
  }
  Config config = read_root(root, diag, path);
  diag.throw_if_any();
  return config;
}

Config load_config(const std::string& path) {
  // Not a stream: an ifstream blocks forever on a FIFO and reads /dev/zero
  // until memory runs out (issue 14, C9).
  const FileRead file = read_regular_file(path, kMaxConfigBytes);
  if (!file.error.empty()) {
    throw ConfigError({ConfigIssue{path, {}, "", file.what()}});
  }
  return load_config_string(file.text, path);
}

}  // namespace fieldgate::config
