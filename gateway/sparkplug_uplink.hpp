// Sparkplug B in `fieldgate run`: the edge node (bridge/sparkplug_*.hpp)
// plugged into the forwarder's seams -- the "sparkplug-b" encoder bound to
// the node, the session hook in place of the status topic -- and into the
// gateway: device availability (gateway/availability.hpp) for DDEATH and
// DBIRTH, and DCMD writes through the command router, the same path,
// limits and audit log as a `/set` command.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "bridge/forwarder.hpp"
#include "bridge/sparkplug_node.hpp"
#include "config/config.hpp"
#include "gateway/availability.hpp"
#include "gateway/command_router.hpp"

namespace fieldgate::gateway {

class SparkplugUplink {
 public:
  /// For `config` (which has [sparkplug]); `router` is asked at each DCMD
  /// (it may be set after the forwarder is made), `wake` wakes the forwarder.
  SparkplugUplink(const config::Config& config, std::shared_ptr<AvailabilityBoard> board,
                  std::function<CommandRouter*()> router, std::function<void()> wake);

  /// Adds the encoder and the hook to `parts` (before the forwarder is made).
  void attach(bridge::ForwarderParts& parts);

  /// A reload: new metrics (a rebirth) and command topics.
  void reload(const config::Config& config);

 private:
  using PointKey = std::pair<std::string, std::string>;
  void write(const std::string& device, const std::string& point, const Value& value);

  std::shared_ptr<bridge::sparkplug::Node> node_;
  std::shared_ptr<AvailabilityBoard> board_;
  std::function<CommandRouter*()> router_;
  std::function<void()> wake_;
  std::string store_path_;
  std::mutex mutex_;
  std::map<PointKey, std::string> command_topics_;  // device, point → its `/set` topic
};

}  // namespace fieldgate::gateway
