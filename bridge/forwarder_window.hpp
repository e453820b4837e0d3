// Private to bridge/: the forwarder's window — the messages handed to the
// client and not yet confirmed, what a confirmation acks in the store, what a
// refusal dead-letters, and the suspect a broker may be closing sessions
// over (invariants 2, 4, 5, 6, 10, 11 in forwarder_impl.hpp).
//
// Threads: the forwarder thread only; the counters it shares go through
// StatsBox.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bridge/forwarder.hpp"
#include "bridge/mqtt_client.hpp"
#include "bridge/store.hpp"
#include "bridge/window_sizer.hpp"

namespace fieldgate::bridge::detail {

/// ForwarderStats under a lock: written on the forwarder thread, read anywhere.
struct StatsBox {
  mutable std::mutex mutex;
  ForwarderStats stats;
};

using MessageId = CompletionTag;  // the window's own, unique in the process (invariant 6)

struct InflightMessage {
  int qos = 0;
  std::string topic;                             // for the log, should the broker refuse it
  std::uint64_t seq = 0;                         // the (first) reading
  std::vector<std::uint64_t> more_seqs;          // the rest of a device-json message
  std::chrono::steady_clock::time_point sent{};  // handed to the client
  bool alone = false;  // nothing else at QoS 1 or 2 was unconfirmed then (window_sizer.hpp)
};

/// What the client reported about messages since the forwarder last looked.
struct Outcomes {
  std::vector<MessageId> confirmed;
  std::vector<std::pair<MessageId, std::string>> failed;
  std::vector<std::pair<MessageId, std::string>> refused;  // for good (invariant 10)
};

class Window {
 public:
  Window(Store& store, StatsBox& stats, std::size_t max_inflight)
      : store_(store), stats_(stats), max_(max_inflight), sizer_(max_inflight) {}

  /// A new id for a message about to be handed to the client.
  [[nodiscard]] MessageId next_id() noexcept { return next_id_++; }
  /// The client took message `id`.
  void add(MessageId id, InflightMessage message);

  [[nodiscard]] std::size_t size() const noexcept { return inflight_.size(); }
  [[nodiscard]] bool empty() const noexcept { return inflight_.empty(); }
  [[nodiscard]] std::size_t qos2() const noexcept { return qos2_; }
  /// Of those in flight, the ones at QoS 1 and 2 (a broker acknowledges them).
  [[nodiscard]] std::size_t acked() const noexcept { return acked_; }

  /// At most this many messages at QoS 1 and 2 in flight: max_inflight, or
  /// with size_by_link(true) the sizer's window (window_sizer.hpp). QoS 0
  /// messages only count against max_inflight: they leave the window once
  /// written, and a small window would only wake the pump more often for them.
  [[nodiscard]] std::size_t limit() const noexcept { return by_link_ ? sizer_.limit() : max_; }
  /// For a client that MqttClient::prefers_small_window().
  void size_by_link(bool on) noexcept { by_link_ = on; }
  [[nodiscard]] std::size_t max_inflight() const noexcept { return max_; }

  /// The pump refills once at most half of max_inflight is in flight and at
  /// most half of limit() is at QoS 1 and 2.
  [[nodiscard]] bool wants_refill() const noexcept;
  /// After a fill, how many confirmations make waking the forwarder worth it:
  /// enough for the pump to refill, or, when nothing was left to send, the
  /// whole window.
  [[nodiscard]] std::size_t confirmations_worth_waking() const noexcept;

  /// Acks confirmed readings and dead-letters refused ones. Readings of an
  /// earlier session's refused message are added to `refused_earlier` (they
  /// may have been peeked again). Returns why the session is broken, or "".
  [[nodiscard]] std::string apply(const Outcomes& outcomes,
                                  std::vector<std::uint64_t>& refused_earlier);

  /// Invariant 10: the readings leave the window for the dead-letter table.
  void dead_letter(std::span<const std::uint64_t> seqs, const std::string& topic,
                   const std::string& reason);

  /// A session begins: nothing confirmed in it yet.
  void start_session() noexcept { confirmed_in_session_ = false; }
  /// The broker confirmed or answered something in this session.
  [[nodiscard]] bool confirmed_in_session() const noexcept { return confirmed_in_session_; }

  /// The window of a session that ended: its messages will be sent again.
  /// Kept until the next session ends, for a refusal that the client reports after
  /// the loss of the session (a broker that answers PUBACK 0x95 and then
  /// closes the connection: mosquitto does), so that its readings are still
  /// dead-lettered rather than refused once more (invariant 10).
  void retire();
  /// Forgets everything in flight (a clean stop); returns how many there were.
  std::size_t clear();

  /// Invariant 5: the broker kept the session, the client resends what is in
  /// flight; newer messages wait until those are confirmed.
  void mark_resumed() noexcept;
  /// Messages of a resumed session are still unconfirmed.
  [[nodiscard]] bool resuming() const;
  [[nodiscard]] std::chrono::steady_clock::duration since_resumed() const noexcept {
    return std::chrono::steady_clock::now() - resumed_at_;
  }

  /// Invariant 11, at the end of a session: the first unconfirmed reading
  /// becomes (or stays) the suspect; sent alone and lost too often, it is
  /// dead-lettered.
  void note_suspect();
  /// One message at a time while a suspect is isolated.
  [[nodiscard]] bool isolating() const noexcept { return isolating_; }
  /// A message went out while isolating.
  void sent_alone() noexcept { isolated_sent_at_ = std::chrono::steady_clock::now(); }

 private:
  void clear_suspect();
  void erase(std::unordered_map<MessageId, InflightMessage>::iterator it);

  Store& store_;
  StatsBox& stats_;
  std::unordered_map<MessageId, InflightMessage> inflight_;
  std::unordered_map<MessageId, InflightMessage> previous_;  // see retire()
  std::size_t qos2_ = 0;   // of inflight_, those at QoS 2 (bounded by max_inflight_qos2)
  std::size_t acked_ = 0;  // of inflight_, those at QoS 1 and 2 (bounded by limit())
  std::size_t max_;
  WindowSizer sizer_;  // learns the link whether or not it sizes the window
  bool by_link_ = false;
  MessageId next_id_ = 1;
  MessageId resume_barrier_ = 0;  // messages older than this were resumed
  std::chrono::steady_clock::time_point resumed_at_{};
  bool confirmed_in_session_ = false;
  std::set<std::string> logged_refusals_;  // kind and topic of refusals logged (bounded)
  struct Suspect {
    std::uint64_t seq = 0;  // 0: none
    int losses = 0;         // sessions in a row that ended with it first unconfirmed
    int alone = 0;          // of those, ended soon after it was sent alone
  };
  Suspect suspect_;
  bool isolating_ = false;
  std::chrono::steady_clock::time_point isolated_sent_at_{};
};

}  // namespace fieldgate::bridge::detail
