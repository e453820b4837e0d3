// Home Assistant MQTT discovery: one retained config message per point (and
// one for the gateway itself), built from the configuration alone -- a pure
// function, so `fieldgate homeassistant --dry-run`, `check` and the running
// gateway publish the same bytes. The vocabulary (components, classes, object
// ids) is config/homeassistant.hpp; docs/HOMEASSISTANT.md says what each
// field maps from.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace fieldgate::gateway {

/// One entity's discovery config.
struct DiscoveryMessage {
  std::string topic;  // <prefix>/<component>/<node_id>/<object_id>/config
  std::string component;
  std::string device;  // "" for the gateway's own entity
  std::string point;
  nlohmann::ordered_json config;
};

/// Every entity's config when [homeassistant] is enabled, else none: the
/// gateway's connectivity first, then each point in file order.
[[nodiscard]] std::vector<DiscoveryMessage> discovery_messages(const config::Config& config);

/// The same as retained payloads by topic (JSON text), for the session hook.
[[nodiscard]] std::map<std::string, std::string> discovery_payloads(const config::Config& config);

/// The topic Home Assistant announces itself on ("<prefix>/status"), "" when disabled.
[[nodiscard]] std::string discovery_status_topic(const config::Config& config);

}  // namespace fieldgate::gateway
