// Private to bridge/: the forwarder's pump — store → encoder → publish. It
// reads rows past the cursor ahead of need, plans them into messages with
// the route map and the encoders, and hands them to the client within the
// window's room (invariants 3, 4, 8, 10 in forwarder_impl.hpp).
//
// Threads: set_topics() from anywhere; everything else on the forwarder thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "bridge/forwarder_window.hpp"
#include "bridge/mqtt_client.hpp"
#include "bridge/outgoing.hpp"
#include "bridge/payload_encoder.hpp"
#include "bridge/store.hpp"
#include "bridge/topics.hpp"
#include "config/config.hpp"

namespace fieldgate::bridge::detail {

class Pump {
 public:
  Pump(const config::MqttConfig& mqtt, Store& store, TopicMap topics, EncoderRegistry encoders,
       Window& window, StatsBox& stats);

  /// Replaces the route map (config reload); applies to the next message.
  void set_topics(TopicMap topics);

  /// Publishes up to the window's room from the rows read ahead past the
  /// cursor (topped up from the store); each message's outcome goes to
  /// `sink`, tagged with its window id. Returns why the session is broken, or "".
  [[nodiscard]] std::string fill(MqttClient& client, CompletionSink& sink);

  /// Everything unconfirmed goes out again: the cursor goes back to 0.
  void rewind();
  /// A session begins: the encoders start over.
  void start_session() { encoders_.start_session(); }
  /// Readings refused for good after their session ended: not sent again.
  void drop(std::span<const std::uint64_t> seqs);

 private:
  // Hands one message to the client (`sent`), or dead-letters its readings
  // when no broker can take it (invariant 10). Returns why the session is
  // broken, or "".
  std::string publish(MqttClient& client, CompletionSink& sink, OutgoingMessage& outgoing,
                      std::span<const Reading> readings, bool& sent);
  // Makes at least `want` rows past the cursor available in ahead_ if the
  // store has them, peeking only for the missing ones.
  void top_up_ahead(std::size_t want);

  const config::MqttConfig& mqtt_;
  Store& store_;
  Window& window_;
  StatsBox& stats_;

  mutable std::mutex topics_mutex_;
  std::shared_ptr<const TopicMap> topics_;

  // Forwarder thread only.
  EncoderRegistry encoders_;
  std::uint64_t cursor_ = 0;  // the highest seq handed to the client in this session
  // Rows peeked past cursor_, not yet published (invariant 3); ahead_pos_ is
  // the first of them. ahead_full_: the last peek returned all it was asked.
  std::vector<Reading> ahead_;
  std::size_t ahead_pos_ = 0;
  bool ahead_full_ = false;
};

}  // namespace fieldgate::bridge::detail
