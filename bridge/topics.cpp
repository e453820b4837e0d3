#include "bridge/topics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "config/route.hpp"
#include "config/topic_template.hpp"

namespace fieldgate::bridge {
namespace {

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

TopicMap::TopicMap(const config::Config& config)
    : TopicMap(std::make_shared<const config::Config>(config)) {}

TopicMap::TopicMap(std::shared_ptr<const config::Config> config) : config_(std::move(config)) {
  const auto& devices = config_->devices;
  std::size_t points = 0;
  for (const auto& device : devices) points += device.points.size();
  index_.reserve(points);
  for (std::uint32_t d = 0; d < devices.size(); ++d) {
    for (const auto& point : devices[d].points) index_.push_back(Entry{&point, d});
  }
  // Stable: of two points with the same names (refused by the loader), the
  // first configured wins, as it did when the routes were a map.
  std::stable_sort(index_.begin(), index_.end(), [&devices](const Entry& a, const Entry& b) {
    return std::tie(devices[a.device].name, a.point->name) <
           std::tie(devices[b.device].name, b.point->name);
  });
}

TopicMap::PointRef TopicMap::at(std::size_t i) const noexcept {
  const Entry& e = index_[i];
  return PointRef{&config_->devices[e.device], e.point};
}

std::optional<std::size_t> TopicMap::find(std::string_view device,
                                          std::string_view point) const noexcept {
  const auto& devices = config_->devices;
  const auto key = [&devices](const Entry& e) {
    return std::pair<std::string_view, std::string_view>(devices[e.device].name, e.point->name);
  };
  const std::pair<std::string_view, std::string_view> wanted(device, point);
  const auto it = std::lower_bound(index_.begin(), index_.end(), wanted,
                                   [&key](const Entry& e, const auto& w) { return key(e) < w; });
  if (it == index_.end() || key(*it) != wanted) return std::nullopt;
  return static_cast<std::size_t>(it - index_.begin());
}

Route TopicMap::route(std::string_view device, std::string_view point,
                      std::string_view unit) const {
  if (const auto i = find(device, point)) {
    const PointRef p = at(*i);
    return resolve(*config_, p.device, p.point, p.device->name, p.point->name, p.point->unit);
  }
  // Buffered before a reload removed the point (or its device): a known
  // device keeps its own settings, an unknown one gets the [mqtt] defaults.
  const config::DeviceConfig* known = config_->find_device(std::string(device));
  return resolve(*config_, known, nullptr, device, point, unit);
}

std::vector<config::PayloadFormat> TopicMap::payload_formats() const {
  std::vector<config::PayloadFormat> out{config_->mqtt.payload};
  for (const auto& device : config_->devices) {
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
  return config::command_topics(config_->mqtt, r.topic, r.per_device, point);
}

}  // namespace fieldgate::bridge
