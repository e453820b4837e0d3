// Where and how each reading is published: topic (expanded from the
// templates), QoS, retain and payload format, resolved once per device and
// point when the config is loaded (the rule: config/route.hpp). The payload
// encoders are in payload_encoder.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

/// Routes are not stored per point: with 10,000 points a map of expanded
/// topics cost 1.8 MB. The map shares the running configuration (the drivers
/// keep it alive too) and keeps only an index of its points, 16 bytes each;
/// a route is resolved from the templates when asked for.
class TopicMap {
 public:
  /// Resolves point → device → [mqtt] settings for every point of `config`,
  /// which it shares (and never changes).
  explicit TopicMap(std::shared_ptr<const config::Config> config);
  /// The same on a copy of `config` (tests, short-lived maps).
  explicit TopicMap(const config::Config& config);

  /// A configured point, found by its device's and its own name.
  struct PointRef {
    const config::DeviceConfig* device = nullptr;
    const config::PointConfig* point = nullptr;
  };
  /// The configured points, ordered by (device name, point name).
  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  [[nodiscard]] PointRef at(std::size_t i) const noexcept;
  /// The position of a configured point in that order, if it is one.
  [[nodiscard]] std::optional<std::size_t> find(std::string_view device,
                                                std::string_view point) const noexcept;
  /// The configuration the map resolves from (alive as long as the map).
  [[nodiscard]] const std::shared_ptr<const config::Config>& config() const noexcept {
    return config_;
  }

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
  struct Entry {
    const config::PointConfig* point;
    std::uint32_t device;  // its index in config_->devices
  };
  std::shared_ptr<const config::Config> config_;
  std::vector<Entry> index_;  // by (device name, point name)
};

}  // namespace fieldgate::bridge
