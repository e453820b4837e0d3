#include "bridge/topics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "config/route.hpp"
#include "config/topic_template.hpp"

namespace fieldgate::bridge {
namespace {

// Heterogeneous lookup key: route() is called for every reading, and building
// a pair of std::strings for each lookup would allocate.
struct RouteKey {
  std::string_view device;
  std::string_view point;
};
using StoredKey = std::pair<std::string, std::string>;

// Compared as string_views on both sides: clang 14 with libstdc++ 12 finds no
// comparison between a tuple of string_view and one of string (the fuzz build).
[[maybe_unused]] bool operator<(const RouteKey& a, const StoredKey& b) {
  return std::tie(a.device, a.point) <
         std::make_tuple(std::string_view(b.first), std::string_view(b.second));
}
[[maybe_unused]] bool operator<(const StoredKey& a, const RouteKey& b) {
  return std::make_tuple(std::string_view(a.first), std::string_view(a.second)) <
         std::tie(b.device, b.point);
}

int clamp_qos(int qos) {
  return std::clamp(qos, 0, 2);
}

// The rule is config::resolve_route, shared with the load-time checks.
Route resolve(const config::Config& config, const config::DeviceConfig* device,
              const config::PointConfig* point, std::string_view device_name,
              std::string_view point_name, std::string_view unit) {
  const config::RouteRule rule = config::resolve_route(config, device, point);
  Route route;
  route.topic = config::expand_topic_template(
      rule.topic_template,
      {config.gateway.name, config.gateway.site, device_name, point_name, unit});
  route.qos = clamp_qos(rule.qos);
  route.retain = rule.retain;
  route.payload = std::string(rule.payload);
  route.per_device = rule.per_device;
  return route;
}

}  // namespace

TopicMap::TopicMap(const config::Config& config) : config_(config) {
  for (const auto& device : config_.devices) {
    for (const auto& point : device.points) {
      routes_.emplace(StoredKey{device.name, point.name},
                      resolve(config_, &device, &point, device.name, point.name, point.unit));
    }
  }
  // From here on route() needs only device-level settings (for points the
  // configuration no longer has); the points themselves would keep a second
  // copy of the largest part of the configuration for as long as it runs.
  for (auto& device : config_.devices) {
    device.points.clear();
    device.points.shrink_to_fit();
  }
}

Route TopicMap::route(std::string_view device, std::string_view point,
                      std::string_view unit) const {
  if (auto it = routes_.find(RouteKey{device, point}); it != routes_.end()) return it->second;
  // Buffered before a reload removed the point (or its device): a known
  // device keeps its own settings, an unknown one gets the [mqtt] defaults.
  const config::DeviceConfig* known = config_.find_device(std::string(device));
  return resolve(config_, known, nullptr, device, point, unit);
}

std::vector<config::PayloadFormat> TopicMap::payload_formats() const {
  std::vector<config::PayloadFormat> out{config_.mqtt.payload};
  for (const auto& device : config_.devices) {
    if (device.payload && std::find(out.begin(), out.end(), *device.payload) == out.end()) {
      out.push_back(*device.payload);
    }
  }
  return out;
}

CommandRoute TopicMap::command_route(std::string_view device, std::string_view point,
                                     std::string_view unit) const {
  const Route r = route(device, point, unit);
  // The rule `check` applies to these topics too.
  return config::command_topics(config_.mqtt, r.topic, r.per_device, point);
}

}  // namespace fieldgate::bridge
