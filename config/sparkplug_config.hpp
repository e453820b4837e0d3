// [sparkplug]: the gateway as a Sparkplug B edge node (docs/SPARKPLUG.md).
// Plain data, read by config/loader_sparkplug.cpp; the bridge's Sparkplug
// hook and encoder (bridge/sparkplug_*.hpp) act on it.
#pragma once

#include <cstdint>
#include <string>

namespace fieldgate::config {

/// The payload format that selects Sparkplug B (`[mqtt] payload`).
inline constexpr const char* kSparkplugFormat = "sparkplug-b";

struct SparkplugConfig {
  std::string group_id;         // required
  std::string edge_node_id;     // "" in the file = the gateway's name (filled in by the loader)
  std::string primary_host_id;  // "" = no primary host: births at connect
  /// QoS of NDATA/DDATA: 0 as the specification says, or 1 (beyond it) so
  /// that a reading leaves the store only once the broker acknowledged it.
  int data_qos = 0;
  /// Readings per second at most while stored readings are replayed as
  /// historical data after an outage; 0 = as fast as the forwarder goes.
  std::int64_t replay_rate = 0;
};

}  // namespace fieldgate::config
