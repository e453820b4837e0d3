#include "gateway/check_sparkplug.hpp"

#include <fmt/format.h>

#include <string>

#include "bridge/sparkplug_node.hpp"

namespace fieldgate::gateway {
namespace {

// The keys set to something else than their default that Sparkplug ignores.
nlohmann::json ignored_settings(const config::Config& config) {
  const config::MqttConfig defaults;
  nlohmann::json out = nlohmann::json::array();
  if (config.mqtt.topic != defaults.topic) out.push_back("mqtt.topic");
  if (config.mqtt.device_topic != defaults.device_topic) out.push_back("mqtt.device_topic");
  if (config.mqtt.qos != defaults.qos) out.push_back("mqtt.qos (data_qos applies)");
  if (config.mqtt.retain != defaults.retain) out.push_back("mqtt.retain");
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const auto& d = config.devices[i];
    if (d.topic) out.push_back(fmt::format("devices[{}].topic", i));
    if (d.device_topic) out.push_back(fmt::format("devices[{}].device_topic", i));
    if (d.qos) out.push_back(fmt::format("devices[{}].qos", i));
    if (d.retain) out.push_back(fmt::format("devices[{}].retain", i));
  }
  return out;
}

}  // namespace

nlohmann::json sparkplug_report(const config::Config& config) {
  if (!config.sparkplug) return nullptr;
  const auto& sp = *config.sparkplug;
  const bridge::sparkplug::Topics topics{sp.group_id, sp.edge_node_id};
  nlohmann::json devices = nlohmann::json::array();
  const auto catalog = bridge::sparkplug::make_catalog(config);  // alive through the loop
  for (const auto& device : catalog->devices) {
    nlohmann::json metrics = nlohmann::json::array();
    for (const auto& m : device.metrics) {
      metrics.push_back({{"name", m.point},
                         {"alias", m.alias},
                         {"datatype", bridge::sparkplug::to_string(m.datatype)},
                         {"unit", m.unit},
                         {"writable", m.writable}});
    }
    devices.push_back({{"device", device.name},
                       {"data_topic", topics.of("DDATA", device.name)},
                       {"metrics", std::move(metrics)}});
  }
  return {{"group_id", sp.group_id},
          {"edge_node_id", sp.edge_node_id},
          {"primary_host_id", sp.primary_host_id},
          {"data_qos", sp.data_qos},
          {"birth_topic", topics.of("NBIRTH")},
          {"command_topic", topics.of("NCMD")},
          {"devices", std::move(devices)},
          {"ignored", ignored_settings(config)}};
}

void print_sparkplug(const nlohmann::json& report, std::ostream& out) {
  if (report.is_null()) return;
  const std::string host = report["primary_host_id"];
  out << fmt::format("\nSparkplug B edge node {}/{} (births on {}, data at QoS {}{}):\n",
                     report["group_id"].get<std::string>(),
                     report["edge_node_id"].get<std::string>(),
                     report["birth_topic"].get<std::string>(), report["data_qos"].get<int>(),
                     host.empty() ? "" : ", waits for primary host " + host);
  for (const auto& device : report["devices"]) {
    out << fmt::format("  {} on {}:\n", device["device"].get<std::string>(),
                       device["data_topic"].get<std::string>());
    for (const auto& m : device["metrics"]) {
      out << fmt::format("    alias {:<5} {:<8} {}{}{}\n", m["alias"].get<std::uint64_t>(),
                         m["datatype"].get<std::string>(), m["name"].get<std::string>(),
                         m["unit"].get<std::string>().empty()
                             ? std::string()
                             : " [" + m["unit"].get<std::string>() + "]",
                         m["writable"].get<bool>() ? " (writable: DCMD)" : "");
    }
  }
  for (const auto& key : report["ignored"]) {
    out << fmt::format("  note: {} is set but ignored: Sparkplug fixes topics, QoS and retain\n",
                       key.get<std::string>());
  }
}

}  // namespace fieldgate::gateway
