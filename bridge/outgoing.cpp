#include "bridge/outgoing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace fieldgate::bridge::detail {

std::vector<OutgoingMessage> plan_messages(std::span<const Reading> rows, const TopicMap& topics,
                                           EncoderRegistry& encoders, std::size_t max_messages,
                                           bool more_may_follow) {
  std::vector<OutgoingMessage> out;
  std::size_t i = 0;
  while (i < rows.size() && out.size() < max_messages) {
    const Reading& first = rows[i];
    OutgoingMessage message;
    message.route = topics.route(first.device, first.point, first.unit);
    message.first = i;
    const std::string_view format = message.route.payload;
    PayloadEncoder* encoder = encoders.find(format);
    if (encoder == nullptr) {
      message.refusal = fmt::format("no encoder for payload format \"{}\"", format);
    } else {
      const auto rest = rows.subspan(i);
      const std::size_t count = encoder->group(rest, more_may_follow && !out.empty());
      if (count == 0) return out;  // the rest goes out with the next peek
      message.count = std::min(count, rest.size());
      encoder->encode(rest.first(message.count), message);
    }
    i += message.count;
    out.push_back(std::move(message));
  }
  return out;
}

std::string refusal_reason(const OutgoingMessage& message, std::uint64_t max_payload) {
  if (!message.refusal.empty()) return message.refusal;
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
