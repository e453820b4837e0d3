// Where and how each reading is published: topic (expanded from the
// templates), QoS, retain and payload format, resolved once per device and
// point when the config is loaded, plus the payload encoders.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {

struct Route {
  std::string topic;  // for device-json: the device topic
  int qos = 1;
  bool retain = false;
  config::PayloadFormat payload = config::PayloadFormat::kJson;
};

/// Where commands to a writable point arrive and where their results go.
struct CommandRoute {
  std::string command;  // "<point topic>/set" ("<device topic>/<point>/set" for device-json)
  std::string result;   // "<command topic>/result"
};

class TopicMap {
 public:
  /// Resolves point → device → [mqtt] settings for every configured point.
  explicit TopicMap(const config::Config& config);

  /// The route of a reading. A device or point not in the config (buffered
  /// before a reload removed it) gets the [mqtt] defaults expanded for it.
  [[nodiscard]] Route route(std::string_view device, std::string_view point,
                            std::string_view unit) const;

  /// The command and result topics of a point ([mqtt] command_suffix, result_suffix).
  [[nodiscard]] CommandRoute command_route(std::string_view device, std::string_view point,
                                           std::string_view unit) const;

 private:
  config::Config config_;  // for the defaults and unknown names; devices without points
  std::map<std::pair<std::string, std::string>, Route, std::less<>> routes_;
};

/// {"value":230.5,"unit":"V","ts":"2026-…Z","ts_ms":…,"seq":42,"quality":"good"}
/// (+ "error" when quality is not good; value null).
[[nodiscard]] std::string json_payload(const Reading& reading);
/// The bare value as text ("230.5", "true", "FG-1"); "" for a failed read.
[[nodiscard]] std::string value_payload(const Reading& reading);
/// One message for several readings of one device poll:
/// {"device":"meter","ts":…,"ts_ms":…,"seq_first":…,"seq_last":…,
///  "points":{"voltage_l1":{"value":…,"unit":"V","quality":"good","seq":…},…}}
[[nodiscard]] std::string device_json_payload(std::span<const Reading> readings);

}  // namespace fieldgate::bridge
