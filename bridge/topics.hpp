// Where and how each reading is published: topic (expanded from the
// templates), QoS, retain and payload format, resolved once per device and
// point when the config is loaded (the rule: config/route.hpp). The payload
// encoders are in payload_encoder.hpp.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/route.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {

struct Route {
  std::string topic;  // for a per-device format (device-json): the device topic
  int qos = 1;
  bool retain = false;
  std::string payload = "json";  // the format's name: its encoder's in the EncoderRegistry
  bool per_device = false;       // one message per device poll: the device's topic
};

/// Where commands to a writable point arrive and where their results go.
/// "<point topic>/set" and "<command topic>/result" (config::command_topics).
using CommandRoute = config::CommandTopics;

class TopicMap {
 public:
  /// Resolves point → device → [mqtt] settings for every configured point.
  explicit TopicMap(const config::Config& config);

  /// The route of a reading. A device or point not in the config (buffered
  /// before a reload removed it) gets the [mqtt] defaults expanded for it.
  [[nodiscard]] Route route(std::string_view device, std::string_view point,
                            std::string_view unit) const;

  /// The payload formats the configuration names ([mqtt] and each device), each once.
  [[nodiscard]] std::vector<config::PayloadFormat> payload_formats() const;

  /// The command and result topics of a point ([mqtt] command_suffix, result_suffix).
  [[nodiscard]] CommandRoute command_route(std::string_view device, std::string_view point,
                                           std::string_view unit) const;

 private:
  config::Config config_;  // for the defaults and unknown names; devices without points
  std::map<std::pair<std::string, std::string>, Route, std::less<>> routes_;
};

}  // namespace fieldgate::bridge
