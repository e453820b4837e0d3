// Sparkplug B in `fieldgate run`: the edge node (bridge/sparkplug_*.hpp)
// plugged into the forwarder's seams -- the "sparkplug-b" encoder bound to
// the node, the session hook in place of the status topic -- and into the
// gateway: device availability (gateway/availability.hpp) for DDEATH and
// DBIRTH, the node metrics (devices online, the buffer's depth), and DCMD
// writes through the command router, the same checks, limits, audit log and
// result message as a `/set` command, the value read back handed to the
// node for a DDATA of its own.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "bridge/forwarder.hpp"
#include "bridge/sparkplug_node.hpp"
#include "bridge/store.hpp"
#include "config/config.hpp"
#include "gateway/availability.hpp"
#include "gateway/command_router.hpp"

namespace fieldgate::gateway {

class SparkplugUplink {
 public:
  /// For `config` (which has [sparkplug]); `router` is asked at each DCMD
  /// (it may be set after the forwarder is made), `wake` wakes the forwarder;
  /// `store` (which outlives this) gives the node metrics its depth.
  SparkplugUplink(const config::Config& config, std::shared_ptr<AvailabilityBoard> board,
                  bridge::Store& store, std::function<CommandRouter*()> router,
                  std::function<void()> wake);

  /// Adds the encoder and the hook to `parts` (before the forwarder is made).
  void attach(bridge::ForwarderParts& parts);

  /// A reload: new metrics (a rebirth) and command topics.
  void reload(const config::Config& config);

 private:
  static void write(const std::shared_ptr<bridge::sparkplug::Node>& node,
                    const std::function<CommandRouter*()>& router_of,
                    const std::function<void()>& wake, const std::string& device,
                    const std::string& point, const Value& value);
  [[nodiscard]] static bridge::sparkplug::NodeState node_state(const bridge::sparkplug::Node& node,
                                                               const AvailabilityBoard& board,
                                                               bridge::Store& store);

  std::shared_ptr<bridge::sparkplug::Node> node_;
  std::shared_ptr<AvailabilityBoard> board_;
  bridge::Store& store_;
  std::function<CommandRouter*()> router_;
  std::function<void()> wake_;
  std::string store_path_;
  std::chrono::milliseconds node_data_interval_;
};

}  // namespace fieldgate::gateway
