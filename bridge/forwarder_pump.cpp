#include "bridge/forwarder_pump.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace fieldgate::bridge::detail {
namespace {

// A peek reads at least this many rows, so that a device-json poll is seen
// whole even when the window has little room.
constexpr std::size_t kMinPeek = 256;

}  // namespace

Pump::Pump(const config::MqttConfig& mqtt, Store& store, TopicMap topics, EncoderRegistry encoders,
           Window& window, StatsBox& stats)
    : mqtt_(mqtt),
      store_(store),
      window_(window),
      stats_(stats),
      topics_(std::make_shared<const TopicMap>(std::move(topics))),
      encoders_(std::move(encoders)) {}

void Pump::set_topics(TopicMap topics) {
  auto fresh = std::make_shared<const TopicMap>(std::move(topics));
  std::lock_guard lock(topics_mutex_);
  topics_ = std::move(fresh);
}

void Pump::rewind() {
  cursor_ = 0;
  ahead_.clear();
  ahead_pos_ = 0;
  ahead_full_ = false;
}

void Pump::drop(std::span<const std::uint64_t> seqs) {
  if (seqs.empty()) return;
  std::erase_if(ahead_, [&](const Reading& r) {
    return std::find(seqs.begin(), seqs.end(), r.seq) != seqs.end();
  });
  ahead_pos_ = std::min(ahead_pos_, ahead_.size());
}

std::string Pump::fill(MqttClient& client, CompletionSink& sink) {
  // After a resumed session, what the client sends again goes first.
  if (window_.resuming()) {
    // Never wait for them for ever: a session that cannot finish them ends
    // (and after kMaxBarrenSessions, a clean one starts).
    if (window_.since_resumed() > mqtt_.connect_timeout) {
      return "the resumed session's messages were not confirmed";
    }
    return {};
  }
  // Invariant 11: one message at a time while a suspect is isolated.
  const bool isolating = window_.isolating();
  if (isolating && !window_.empty()) return {};
  // Refill when half the window is free: fewer, larger peeks.
  if (!isolating && !window_.wants_refill()) return {};
  const std::size_t room = isolating ? 1 : window_.max_inflight() - window_.size();
  // Of those, at QoS 1 and 2: the sizer's window (window_sizer.hpp).
  const std::size_t acked_room = isolating ? 1 : window_.limit() - window_.acked();
  top_up_ahead(std::max(room, kMinPeek));
  const auto rows = std::span<const Reading>(ahead_).subspan(ahead_pos_);
  if (rows.empty()) return {};
  std::shared_ptr<const TopicMap> topics;
  {
    std::lock_guard lock(topics_mutex_);
    topics = topics_;
  }
  const auto max_qos2 = static_cast<std::size_t>(mqtt_.max_inflight_qos2);
  std::size_t published = 0;
  std::size_t published_acked = 0;  // of those, at QoS 1 and 2
  std::size_t used = 0;             // rows handed to the client
  std::string broken;
  bool full = false;                 // the next message waits for room at its QoS
  const PublishBurst burst(client);  // the client's network thread woken once for all
  while (!full && broken.empty() && published < room && used < rows.size()) {
    const auto rest = rows.subspan(used);
    // Render only what can go out now: at QoS 2 the window is small, and
    // payloads planned beyond it would be thrown away and rendered again.
    std::size_t limit = room - published;
    const auto& next = rest.front();
    const int next_qos = topics->route(next.device, next.point, next.unit).qos;
    if (next_qos > 0) limit = std::min(limit, acked_room - published_acked);
    if (next_qos == 2) limit = std::min(limit, max_qos2 - std::min(window_.qos2(), max_qos2));
    if (limit == 0) break;
    auto messages = plan_messages(rest, *topics, encoders_, limit, ahead_full_);
    if (messages.empty()) break;
    const std::size_t offset = used;
    for (auto& message : messages) {
      // In order: a QoS 2 message that does not fit waits, and so does everything after it.
      // Brokers disconnect a client with more QoS 2 messages open than they
      // allow ("quota exceeded"), see MqttConfig::max_inflight_qos2.
      if ((message.route.qos == 2 && window_.qos2() >= max_qos2) ||
          (message.route.qos > 0 && published_acked >= acked_room)) {
        full = true;
        break;
      }
      const auto readings = rest.subspan(message.first, message.count);
      bool sent = false;
      broken = publish(client, sink, message, readings, sent);
      if (!broken.empty()) break;
      cursor_ = readings.back().seq;
      used = offset + message.first + message.count;
      if (sent) {
        ++published;
        if (message.route.qos > 0) ++published_acked;
      }
    }
  }
  ahead_pos_ += used;
  std::lock_guard lock(stats_.mutex);
  stats_.stats.published += published;
  stats_.stats.inflight = window_.size();
  stats_.stats.window = window_.limit();
  return broken;
}

void Pump::top_up_ahead(std::size_t want) {
  if (ahead_pos_ > 0) {
    ahead_.erase(ahead_.begin(), ahead_.begin() + static_cast<std::ptrdiff_t>(ahead_pos_));
    ahead_pos_ = 0;
  }
  if (ahead_.size() >= want) return;
  const std::size_t missing = want - ahead_.size();
  // Claimed (Store::claim): eviction passes over what is about to be sent.
  auto more = store_.claim(ahead_.empty() ? cursor_ : ahead_.back().seq, missing);
  ahead_full_ = more.size() == missing;
  if (ahead_.empty()) {
    ahead_ = std::move(more);
  } else {
    ahead_.insert(ahead_.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  }
}

std::string Pump::publish(MqttClient& client, CompletionSink& sink, OutgoingMessage& outgoing,
                          std::span<const Reading> readings, bool& sent) {
  const Route& route = outgoing.route;
  std::vector<std::uint64_t> seqs;
  for (const auto& r : readings) seqs.push_back(r.seq);
  if (auto reason = refusal_reason(outgoing, mqtt_.max_payload); !reason.empty()) {
    window_.dead_letter(seqs, route.topic, reason);
    return {};
  }
  const MessageId id = window_.next_id();
  const MqttStatus status = client.publish(
      {route.topic, std::move(outgoing.payload), route.qos, route.retain}, &sink, id);
  if (status.kind == MqttStatus::Kind::kMessageRefused) {
    // Invariant 10: the client refuses it for itself, in any session.
    window_.dead_letter(seqs, route.topic,
                        fmt::format("the MQTT client refused it: {}", status.error));
    return {};
  }
  if (!status.ok()) {
    return fmt::format("cannot publish seq {} on {}: {}", readings.front().seq,
                       describe_topic(route.topic), to_valid_utf8(status.error));
  }
  sent = true;
  if (window_.isolating()) window_.sent_alone();
  InflightMessage message;
  message.sent = std::chrono::steady_clock::now();
  message.alone = window_.acked() == 0;
  message.qos = route.qos;
  message.topic = route.topic;
  message.seq = seqs.front();
  message.more_seqs.assign(seqs.begin() + 1, seqs.end());
  window_.add(id, std::move(message));
  return {};
}

}  // namespace fieldgate::bridge::detail
