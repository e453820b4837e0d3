// [modbus_server] keys. The security rule lives here, where it can name the
// line: with an empty `allow` only loopback clients connect, and a server
// listening on any other address must say who may connect.
#include "config/loader_modbus_server.hpp"

#include <fmt/format.h>

#include <map>
#include <string>

#include "config/bounds.hpp"

namespace fieldgate::config {
namespace {

constexpr auto kModbusServerKeys =
    std::to_array<std::string_view>({"listen", "max_clients", "idle_timeout", "allow", "units",
                                     "max_age", "passthrough", "passthrough_timeout"});

void read_allow(Section& s, ModbusServerConfig& server) {
  const toml::node* node = s.find("allow");
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    s.report("allow",
             "expected an array of client addresses or networks such as "
             "[\"192.168.1.20\", \"10.0.0.0/8\"], got " +
                 describe(*node));
    return;
  }
  if (array->size() > bounds::kMaxAllowEntries) {
    s.report("allow", fmt::format("expected at most {} entries, got {}", bounds::kMaxAllowEntries,
                                  array->size()));
    return;
  }
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    const auto net = text != nullptr ? parse_network(text->get()) : std::nullopt;
    if (!net) {
      s.report("allow",
               "expected an IP address or network such as \"192.168.1.20\" or "
               "\"10.0.0.0/8\", got " +
                   describe(element));
      return;
    }
    server.allow.push_back(*net);
  }
}

void read_units(Section& s, const Config& config, ModbusServerConfig& server) {
  const toml::table* units = s.table("units", "[modbus_server.units]");
  if (units == nullptr) return;
  std::vector<std::string_view> names;
  for (const auto& [key, value] : *units) names.push_back(key.str());
  Section u = s.child(*units, "units", names);
  std::map<std::int64_t, std::string> taken;
  for (const auto name : names) {
    const auto id = u.integer(name, 1, 247);
    if (!id) continue;
    if (config.find_device(std::string(name)) == nullptr) {
      u.report(name, fmt::format("no device named {}", quote(name)));
      continue;
    }
    if (const auto [it, fresh] = taken.emplace(*id, name); !fresh) {
      u.report(name,
               fmt::format("unit id {} already answers for device {}", *id, quote(it->second)));
      continue;
    }
    server.units.push_back({std::string(name), static_cast<int>(*id)});
  }
}

}  // namespace

void read_modbus_server(Section& parent, Config& config) {
  const toml::table* table = parent.table("modbus_server", "[modbus_server]");
  if (table == nullptr) return;
  Section s = parent.child(*table, "modbus_server", kModbusServerKeys);
  ModbusServerConfig server;
  if (const auto listen = s.string("listen")) {
    if (const auto parsed = parse_listen(*listen)) {
      server.listen = *listen;
      server.listen_address = parsed->address;
      server.listen_port = parsed->port;
    } else {
      s.report("listen",
               fmt::format("expected an IP address and a port such as "
                           "\"127.0.0.1:1502\", \"0.0.0.0:502\" or \"[::1]:1502\", got {}",
                           quote(*listen)));
    }
  }
  assign(server.max_clients, s.integer("max_clients", 1, bounds::kMaxModbusClients));
  assign(server.idle_timeout, s.duration("idle_timeout", bounds::kModbusIdleTimeout));
  if (const auto age = s.duration("max_age", bounds::kModbusMaxAge)) server.max_age = *age;
  assign(server.passthrough, s.boolean("passthrough"));
  assign(server.passthrough_timeout,
         s.duration("passthrough_timeout", bounds::kModbusPassthroughTimeout));
  read_allow(s, server);
  read_units(s, config, server);
  if (server.allow.empty() && !server.listen_address.is_loopback() && !s.reported("listen") &&
      !s.reported("allow")) {
    s.report("listen", fmt::format("listening on {} needs an explicit allow list (allow = "
                                   "[\"192.168.1.0/24\"]): without one only loopback clients "
                                   "may connect",
                                   quote(server.listen)));
  }
  s.check_unknown_keys();
  config.modbus_server = std::move(server);
}

}  // namespace fieldgate::config
