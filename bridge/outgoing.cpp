#include "bridge/outgoing.hpp"

#include <fmt/format.h>

#include <set>
#include <string_view>

namespace fieldgate::bridge::detail {

std::vector<OutgoingMessage> plan_messages(std::span<const Reading> rows, const TopicMap& topics,
                                           std::size_t max_messages, bool more_may_follow) {
  std::vector<OutgoingMessage> out;
  std::size_t i = 0;
  while (i < rows.size() && out.size() < max_messages) {
    const Reading& first = rows[i];
    OutgoingMessage message;
    message.route = topics.route(first.device, first.point, first.unit);
    message.first = i;
    switch (message.route.payload) {
      case config::PayloadFormat::kDeviceJson: {
        // Every point of a device-json device shares its device's route.
        std::set<std::string_view> points{first.point};
        std::size_t end = i + 1;
        while (end < rows.size() && rows[end].device == first.device &&
               points.insert(rows[end].point).second) {
          ++end;
        }
        if (end == rows.size() && more_may_follow && !out.empty()) return out;
        message.count = end - i;
        message.payload = device_json_payload(rows.subspan(i, message.count));
        break;
      }
      case config::PayloadFormat::kValue:
        message.payload = value_payload(first);
        break;
      case config::PayloadFormat::kJson:
        message.payload = json_payload(first);
        break;
    }
    i += message.count;
    out.push_back(std::move(message));
  }
  return out;
}

std::string refusal_reason(const OutgoingMessage& message, std::uint64_t max_payload) {
  const std::string& topic = message.route.topic;
  if (topic.empty()) return "the topic is empty";
  if (topic.size() > kMaxTopicBytes) {
    return fmt::format("the topic is {} bytes long; MQTT allows at most {}", topic.size(),
                       kMaxTopicBytes);
  }
  if (!is_valid_utf8(topic)) return "the topic is not valid UTF-8";
  if (topic.find('\0') != std::string::npos) return "the topic holds a NUL character";
  if (topic.find_first_of("+#") != std::string::npos) {
    return "the topic holds a wildcard ('+' or '#')";
  }
  if (message.payload.size() > max_payload) {
    return fmt::format("the payload is {} bytes, more than [mqtt] max_payload ({} bytes)",
                       message.payload.size(), max_payload);
  }
  return {};
}

std::string describe_topic(std::string_view topic) {
  constexpr std::size_t kShown = 100;
  if (topic.size() <= kShown) return to_valid_utf8(topic);
  return fmt::format("{}… ({} bytes)", to_valid_utf8(topic.substr(0, kShown)), topic.size());
}

}  // namespace fieldgate::bridge::detail
