#include "config/route.hpp"

#include <fmt/format.h>

namespace fieldgate::config {

const PayloadFormat& payload_format(const Config& config, const DeviceConfig* device) noexcept {
  return device && device->payload ? *device->payload : config.mqtt.payload;
}

RouteRule resolve_route(const Config& config, const DeviceConfig* device,
                        const PointConfig* point) noexcept {
  const MqttConfig& mqtt = config.mqtt;
  RouteRule rule;
  const PayloadFormat& format = payload_format(config, device);
  rule.payload = format.name;
  rule.per_device = format.per_device;
  if (rule.per_device) {
    // One message per poll: a point's own settings have nothing to apply to.
    point = nullptr;
  }
  const std::string& mqtt_topic = rule.per_device ? mqtt.device_topic : mqtt.topic;
  const std::optional<std::string>* device_topic = nullptr;
  if (device) device_topic = rule.per_device ? &device->device_topic : &device->topic;
  if (point && point->topic) {
    rule.topic_template = *point->topic;
    rule.topic_from = RouteLevel::kPoint;
  } else if (device_topic && device_topic->has_value()) {
    rule.topic_template = **device_topic;
    rule.topic_from = RouteLevel::kDevice;
  } else {
    rule.topic_template = mqtt_topic;
    rule.topic_from = RouteLevel::kMqtt;
  }
  rule.qos = mqtt.qos;
  if (point && point->qos) {
    rule.qos = *point->qos;
  } else if (device && device->qos) {
    rule.qos = *device->qos;
  }
  rule.retain = mqtt.retain;
  if (point && point->retain) {
    rule.retain = *point->retain;
  } else if (device && device->retain) {
    rule.retain = *device->retain;
  }
  return rule;
}

CommandTopics command_topics(const MqttConfig& mqtt, std::string_view topic, bool per_device,
                             std::string_view point) {
  CommandTopics out;
  out.command = per_device ? fmt::format("{}/{}/{}", topic, point, mqtt.command_suffix)
                           : fmt::format("{}/{}", topic, mqtt.command_suffix);
  out.result = result_topic(out.command, mqtt.result_suffix);
  return out;
}

std::string result_topic(std::string_view command_topic, std::string_view result_suffix) {
  return fmt::format("{}/{}", command_topic, result_suffix);
}

}  // namespace fieldgate::config
