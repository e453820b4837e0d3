// Private to bridge/: which messages a run of peeked readings becomes — as
// the encoder of each route groups and renders them — with topic, QoS,
// retain and payload, and which of them no broker can take. The pump's
// planning step, unit-tested without a broker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bridge/payload_encoder.hpp"
#include "bridge/topics.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge::detail {

using bridge::OutgoingMessage;

/// Turns `rows` (in seq order) into at most `max_messages` messages, in order,
/// each rendered by the encoder its route's format names. The encoder groups
/// readings (device-json: consecutive readings of one device, a point seen
/// again starts the next poll). When `more_may_follow` (the peek was full), a
/// group the encoder holds back at the end of `rows` waits for the next peek,
/// unless it is the first message. A format without an encoder gives a
/// message with `refusal` set (dead-lettered, one reading at a time).
[[nodiscard]] std::vector<OutgoingMessage> plan_messages(std::span<const Reading> rows,
                                                         const TopicMap& topics,
                                                         EncoderRegistry& encoders,
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
