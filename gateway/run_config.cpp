#include "gateway/run_config.hpp"

#include <spdlog/spdlog.h>

namespace fieldgate::gateway {

void apply_broker_override(config::Config& config, const std::string& broker) {
  if (broker.empty()) return;
  config.mqtt.broker = broker;
  config.mqtt.tls_enabled = broker.starts_with("ssl://") || broker.starts_with("mqtts://");
  config.has_mqtt = true;
}

std::vector<std::string> restart_only_changes(const config::Config& old_config,
                                              const config::Config& new_config) {
  std::vector<std::string> changed;
  const auto& a = old_config.mqtt;
  const auto& b = new_config.mqtt;
  const auto& s = old_config.store;
  const auto& t = new_config.store;
  if (s.path != t.path || s.durability != t.durability || s.commit_interval != t.commit_interval ||
      s.commit_batch != t.commit_batch || s.max_bytes != t.max_bytes || s.max_rows != t.max_rows ||
      s.max_age != t.max_age || s.overflow != t.overflow) {
    changed.emplace_back("[store]");
  }
  if (a.broker != b.broker || a.client_id != b.client_id || a.username != b.username ||
      a.password_file != b.password_file || a.protocol != b.protocol ||
      a.tls.ca_file != b.tls.ca_file || a.tls.cert_file != b.tls.cert_file ||
      a.tls.key_file != b.tls.key_file || a.status_topic != b.status_topic ||
      a.max_payload != b.max_payload || old_config.gateway.name != new_config.gateway.name) {
    changed.emplace_back(
        "the MQTT connection ([mqtt] broker, identity, TLS, status topic, max_payload)");
  }
  // [modbus_server]: the listening socket and its limits stay; units and max_age apply now.
  const auto& m = old_config.modbus_server;
  const auto& n = new_config.modbus_server;
  const auto allow_text = [](const config::ModbusServerConfig& c) {
    std::vector<std::string> out;
    for (const auto& net : c.allow) out.push_back(net.text);
    return out;
  };
  if (m.has_value() != n.has_value() ||
      (m && (m->listen != n->listen || m->max_clients != n->max_clients ||
             m->idle_timeout != n->idle_timeout || allow_text(*m) != allow_text(*n)))) {
    changed.emplace_back("[modbus_server] (listen, allow, max_clients, idle_timeout)");
  }
  return changed;
}

void apply_log_level(const RunOptions& options, const config::Config& config) {
  if (options.log_level_from_config)
    spdlog::set_level(spdlog::level::from_str(config.gateway.log_level));
}

}  // namespace fieldgate::gateway
