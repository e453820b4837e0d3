// [sparkplug] keys. Sparkplug ids become topic levels, so they follow the
// rule of every name here (letters, digits, '_', '-', '.'), which also keeps
// out what Sparkplug forbids in an id ('+', '#', '/').
#include "config/loader_sparkplug.hpp"

#include <fmt/format.h>

#include <string>

#include "config/bounds.hpp"

namespace fieldgate::config {
namespace {

constexpr auto kSparkplugKeys = std::to_array<std::string_view>(
    {"group_id", "edge_node_id", "primary_host_id", "data_qos", "replay_rate"});

}  // namespace

void read_sparkplug(Section& parent, Config& config) {
  const bool selected = config.mqtt.payload.name == kSparkplugFormat;
  const toml::table* table = parent.table("sparkplug", "[sparkplug]");
  if (table == nullptr) {
    if (selected && !parent.has("sparkplug")) {
      parent.missing("sparkplug",
                     "payload = \"sparkplug-b\" needs a [sparkplug] table with group_id");
    }
    return;
  }
  Section s = parent.child(*table, "sparkplug", kSparkplugKeys);
  SparkplugConfig sparkplug;
  if (auto group = s.name("group_id", Need::kRequired)) sparkplug.group_id = std::move(*group);
  if (auto node = s.name("edge_node_id", Need::kOptional)) {
    sparkplug.edge_node_id = std::move(*node);
  } else {
    sparkplug.edge_node_id = config.gateway.name;
  }
  if (auto host = s.name("primary_host_id", Need::kOptional)) {
    sparkplug.primary_host_id = std::move(*host);
  }
  if (const auto qos =
          s.integer("data_qos", bounds::kSparkplugDataQosMin, bounds::kSparkplugDataQosMax)) {
    sparkplug.data_qos = static_cast<int>(*qos);
  }
  if (const auto rate = s.integer("replay_rate", 0, bounds::kSparkplugReplayRateMax)) {
    sparkplug.replay_rate = *rate;
  }
  if (!selected) {
    parent.report(
        "sparkplug",
        fmt::format(
            "[sparkplug] is used only with [mqtt] payload = \"sparkplug-b\" (payload is \"{}\")",
            config.mqtt.payload.name));
  }
  s.check_unknown_keys();
  if (selected && !config.mqtt.clean_session) {
    // The specification: every Sparkplug client connects with a clean session.
    parent.report("sparkplug", "Sparkplug needs [mqtt] clean_session = true");
  }
  // One payload for the whole edge node: its births describe every device.
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const auto& device = config.devices[i];
    if (selected && device.payload && device.payload->name != kSparkplugFormat) {
      parent.report("sparkplug",
                    fmt::format("with Sparkplug every device publishes \"sparkplug-b\"; "
                                "devices[{}] ({}) sets payload = \"{}\"",
                                i, device.name, device.payload->name));
    }
  }
  config.sparkplug = std::move(sparkplug);
}

}  // namespace fieldgate::config
