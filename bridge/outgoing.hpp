// Private to bridge/: which messages a run of peeked readings becomes — one
// per reading, or one per device poll for device-json routes — with topic,
// QoS, retain and payload. Pure, so the grouping rules are unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bridge/topics.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge::detail {

struct OutgoingMessage {
  Route route;
  std::string payload;
  std::size_t first = 0;  // index of its first reading in the rows
  std::size_t count = 1;  // readings it carries (more than one only for device-json)
};

/// Turns `rows` (in seq order) into at most `max_messages` messages, in order.
/// device-json: consecutive readings of one device form one message; a point
/// seen again starts a new one (the next poll). When `more_may_follow` (the
/// peek was full), a device-json group reaching the end of `rows` is held
/// back — unless it is the first message — so the poll goes out whole with
/// the next peek.
[[nodiscard]] std::vector<OutgoingMessage> plan_messages(std::span<const Reading> rows,
                                                         const TopicMap& topics,
                                                         std::size_t max_messages,
                                                         bool more_may_follow);

/// The longest topic MQTT can carry (a two-byte length).
inline constexpr std::size_t kMaxTopicBytes = 65535;

/// Why no client or broker can take `message` — a topic that is empty,
/// longer than kMaxTopicBytes, not UTF-8, or holding NUL or a wildcard; a
/// payload over `max_payload` — or "" when it may be published. Such a
/// message is never handed to the client: its readings are dead-lettered.
[[nodiscard]] std::string refusal_reason(const OutgoingMessage& message, std::uint64_t max_payload);

/// A topic for a log line: valid UTF-8, at most about 100 bytes ("…" and
/// its length after that).
[[nodiscard]] std::string describe_topic(std::string_view topic);

}  // namespace fieldgate::bridge::detail
