#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/topic_template.hpp"
#include "gateway/check_sparkplug.hpp"
#include "gateway/command_startup.hpp"
#include "gateway/commands.hpp"
#include "gateway/ha_discovery.hpp"
#include "gateway/modbus_server.hpp"

namespace fieldgate::gateway {

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  const auto startup = CommandStartup::load(options.config_path, err);
  if (!startup) return kExitConfigError;
  const config::Config* config = &startup->config();

  // Build the drivers exactly as `poll` and `run` do (no I/O happens here), so
  // the plan printed is the plan executed.
  if (!startup->create_drivers(err)) return kExitConfigError;
  const auto& drivers = startup->drivers();

  // --probe: one forced poll per device, so that the plan printed below is
  // the one a discovering driver (SunSpec) found on the device.
  std::vector<std::string> probes(drivers.size());
  if (options.probe) {
    for (std::size_t i = 0; i < drivers.size(); ++i) {
      const auto batch = drivers[i]->poll(drivers::Clock::now(), true);
      const auto& health = drivers[i]->health();
      probes[i] = health.last_error.empty() ? fmt::format("answered: {} readings", batch.size())
                                            : fmt::format("failed: {}", health.last_error);
      drivers[i]->close();
    }
  }

  std::size_t points = 0;
  std::size_t requests = 0;
  nlohmann::json devices = nlohmann::json::array();
  for (std::size_t i = 0; i < drivers.size(); ++i) {
    const auto& device = config->devices[i];
    const auto plan = drivers[i]->describe_plan();
    points += device.points.size();
    requests += plan.size();
    nlohmann::json entry{{"name", device.name},
                         {"endpoint", startup->registry().describe_endpoint(device, *config)},
                         {"points", device.points.size()},
                         {"requests", plan}};
    if (options.probe) {
      entry["probe"] = probes[i];
      entry["discovered"] = drivers[i]->health().discovered;
    }
    if (config->has_mqtt) {
      // Where `run` will say whether the device answers (gateway/availability.hpp).
      entry["availability_topic"] = config::expand_topic_template(
          config->mqtt.availability_topic,
          {config->gateway.name, config->gateway.site, device.name, {}, {}});
      entry["offline_after"] = device.offline_after;
    }
    devices.push_back(std::move(entry));
  }

  // The entity each point becomes in Home Assistant, when discovery is on.
  nlohmann::json discovery = nlohmann::json::array();
  for (const auto& m : discovery_messages(*config)) {
    discovery.push_back(
        {{"device", m.device}, {"point", m.point}, {"component", m.component}, {"topic", m.topic}});
  }

  // [modbus_server]: which device answers for which unit id, as `run` will serve them.
  nlohmann::json served = nullptr;
  nlohmann::json writable = nlohmann::json::array();
  if (config->modbus_server) {
    std::vector<std::shared_ptr<const drivers::RegisterCache>> caches;
    for (const auto& driver : drivers) {
      if (auto cache = driver->register_cache()) caches.push_back(std::move(cache));
    }
    try {
      const auto units = served_units(*config->modbus_server, caches);
      served = nlohmann::json::object();
      for (std::size_t id = 0; id < units->by_unit.size(); ++id) {
        if (units->by_unit[id]) served[std::to_string(id)] = units->by_unit[id]->device();
      }
      // What a master may write there: one entry per writable point.
      for (const auto& cache : caches) {
        for (const auto& w : cache->writable()) {
          const bool coil = w.table == drivers::RegisterTable::kCoils;
          writable.push_back({{"device", cache->device()},
                              {"point", w.point},
                              {"table", coil ? "coil" : "holding"},
                              {"address", w.start},
                              {"count", w.count}});
        }
      }
    } catch (const std::runtime_error& e) {
      err << options.config_path << ": " << e.what() << '\n';
      return kExitConfigError;
    }
  }

  const nlohmann::json sparkplug = sparkplug_report(*config);

  if (options.json) {
    nlohmann::json report{{"ok", true},
                          {"file", options.config_path},
                          {"devices", devices},
                          {"points", points},
                          {"requests", requests}};
    if (config->homeassistant.enabled) report["homeassistant"] = discovery;
    if (!sparkplug.is_null()) report["sparkplug"] = sparkplug;
    if (!served.is_null()) {
      report["modbus_server"] = {{"listen", config->modbus_server->listen},
                                 {"units", served},
                                 {"writable", writable},
                                 {"passthrough", config->modbus_server->passthrough}};
    }
    out << report.dump(2) << '\n';
    return kExitOk;
  }
  out << fmt::format("{}: OK: {} device{}, {} bus{}, {} points, {} read requests per full cycle\n",
                     options.config_path, config->devices.size(),
                     config->devices.size() == 1 ? "" : "s", config->buses.size(),
                     config->buses.size() == 1 ? "" : "es", points, requests);
  for (const auto& device : devices) {
    out << fmt::format("\n{} ({}), {} points:\n", device["name"].get<std::string>(),
                       device["endpoint"].get<std::string>(), device["points"].get<std::size_t>());
    if (device.contains("availability_topic")) {
      out << fmt::format("  availability on {}: offline after {} failed polls in a row\n",
                         device["availability_topic"].get<std::string>(),
                         device["offline_after"].get<int>());
    }
    if (device.contains("probe")) {
      out << "  probe: " << device["probe"].get<std::string>() << '\n';
    }
    for (const auto& line : device["requests"]) out << "  " << line.get<std::string>() << '\n';
  }
  if (!discovery.empty()) {
    out << fmt::format("\nHome Assistant discovery ({} entities):\n", discovery.size());
    for (const auto& e : discovery) {
      const auto device = e["device"].get<std::string>();
      out << fmt::format(
          "  {:<14} {:<28} {}\n", e["component"].get<std::string>(),
          device.empty() ? std::string("(gateway)") : device + "/" + e["point"].get<std::string>(),
          e["topic"].get<std::string>());
    }
  }
  print_sparkplug(sparkplug, out);
  if (!served.is_null()) {
    out << fmt::format("\nModbus TCP server on {}:\n", config->modbus_server->listen);
    if (served.empty())
      out << "  no device served (a modbus-tcp device needs [modbus_server.units])\n";
    for (const auto& [id, device] : served.items()) {
      out << fmt::format("  unit {} -> {}\n", id, device.get<std::string>());
    }
    for (const auto& w : writable) {
      const auto first = w["address"].get<int>();
      const auto count = w["count"].get<int>();
      out << fmt::format("  writable: {}/{} = {} {}{}\n", w["device"].get<std::string>(),
                         w["point"].get<std::string>(), w["table"].get<std::string>(), first,
                         count > 1 ? fmt::format("..{}", first + count - 1) : "");
    }
    out << fmt::format("  reads of registers not polled: {}\n",
                       config->modbus_server->passthrough ? "passed to the device (passthrough)"
                                                          : "exception 0x02 (passthrough = false)");
  }
  return kExitOk;
}

}  // namespace fieldgate::gateway
