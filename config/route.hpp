// The one rule for where a reading is published: point → device → [mqtt].
// Used by the bridge to publish (bridge/topics) and by the load-time checks
// (uplink_checks.cpp) to check what will be published, so the two never
// disagree.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::config {

/// Which level of the configuration a setting came from.
enum class RouteLevel { kPoint, kDevice, kMqtt };

/// How one point (or, for a format with one message per poll, its device)
/// is published, before its topic template is expanded.
struct RouteRule {
  std::string_view topic_template;  // refers into the Config it was resolved from
  RouteLevel topic_from = RouteLevel::kMqtt;
  int qos = 1;  // as configured (0..2 after a successful load)
  bool retain = false;
  std::string_view payload = "json";  // the format's name, referring into the Config
  /// The format publishes one message per device poll (device-json): the
  /// device topic, and only device-level settings apply (the loader rejects
  /// per-point ones there).
  bool per_device = false;
};

/// Resolves point → device → [mqtt]. `device` and `point` may be null (a
/// reading of a device or point the configuration no longer has): the
/// levels present are used. The result refers into `config`, `device` and `point`.
[[nodiscard]] RouteRule resolve_route(const Config& config, const DeviceConfig* device,
                                      const PointConfig* point) noexcept;

/// The payload format a device publishes with (its own, else [mqtt]'s).
[[nodiscard]] const PayloadFormat& payload_format(const Config& config,
                                                  const DeviceConfig* device) noexcept;

/// Where a writable point's commands arrive and where their results go.
struct CommandTopics {
  std::string command;  // "<base>/<command_suffix>"
  std::string result;   // "<base>/<command_suffix>/<result_suffix>"
};

/// The one rule for command topics, used by `check` (on templates, with
/// `point` "{point}"), the bridge and the command router (on expanded
/// topics): the base is the point's own topic, or for a format with one
/// message per device poll "<device topic>/<point>", since the device topic
/// alone would not say which point to write.
[[nodiscard]] CommandTopics command_topics(const MqttConfig& mqtt, std::string_view topic,
                                           bool per_device, std::string_view point);

/// The result topic of a command that arrived on `command_topic` ([mqtt] result_suffix).
[[nodiscard]] std::string result_topic(std::string_view command_topic,
                                       std::string_view result_suffix);

}  // namespace fieldgate::config
