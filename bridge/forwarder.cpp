// The forwarder: store → MQTT broker, deleting a reading only once the broker
// confirmed it.
//
// Design notes
// ============
//
// Invariants
//  1. The store is the only source of truth. Paho runs without persistence,
//     without offline buffering and without automatic reconnect; the
//     forwarder's own thread connects, publishes and reconnects.
//  2. A reading is acked to the store (and so deleted) only after Paho reported
//     the message delivered: PUBACK for QoS 1, PUBCOMP for QoS 2, written to
//     the socket for QoS 0. Nothing else calls Store::ack.
// 10. A message no client or broker can take is dead-lettered
//     (Store::dead_letter), never retried and never a reason to end the
//     session: one that refusal_reason() rejects (topic too long, not UTF-8,
//     payload over max_payload) is not handed to Paho at all; one that Paho's
//     publish() refuses for itself (kPerMessageErrors), or that an MQTT 5
//     broker answers with a failing reason code (PUBACK/PUBREC >= 0x80, except
//     the transient ones), is taken out of the window. Its readings leave the
//     window as if delivered: the cursor passes them, order holds for the rest.
//     Everything else that fails (connection, Paho's buffer) ends the session
//     as before (invariant 5). Each kind of refusal is logged once per topic
//     (a bounded set), then counted only. A refusal Paho reports after the
//     session ended still dead-letters (retire_inflight()).
// 11. A broker may close the connection over one message instead of refusing
//     it (mosquitto's max_packet_size; any MQTT 3.1.1 broker has no other
//     way). With clean_session = true: when two sessions in a row end with the
//     same reading first among the unconfirmed (suspect_), the next ones
//     publish one message at a time (isolating_) until the broker confirms
//     it; three sessions that end within kPoisonWindow of sending it alone
//     dead-letter it. A link that fails on its own costs a few messages sent
//     one by one, never a reading: a dead letter is kept and shown.
//  3. Messages are published in seq order. `cursor_` is the highest seq handed
//     to Paho in this session. Rows peeked past it and not yet published wait
//     in `ahead_` (a small QoS 2 window takes a few per confirmation; reading
//     and rendering the rest again each time cost more than publishing); the
//     next peek starts after the last of them. `ahead_` is dropped whenever
//     `cursor_` goes back to 0. A reading evicted from the store (max_age,
//     drop_oldest) while it waits there may still be published once.
//  4. At most mqtt.max_inflight messages are unconfirmed (`inflight_`); Paho's
//     own limit is set above it so Paho never refuses or queues on its own.
//  5. When a session ends (connection lost, a delivery failed, a publish
//     threw), everything in flight counts as unconfirmed: `inflight_` is
//     cleared and `cursor_` goes back to 0. Confirmations received so far have
//     been acked, and the store never returns acked rows, so the next session
//     starts with the oldest unconfirmed reading: per topic, readings go out in
//     acquisition order again (duplicates possible, losses not).
//     Exception: with clean_session = false and a CONNACK saying the broker
//     kept the session, `inflight_` and `cursor_` stay: Paho resends those
//     messages itself under their packet ids (MQTT 3.1.1 §4.4), so QoS 2
//     stays exactly once and the broker's QoS 2 quota is not exceeded by a
//     second copy. Without the session, Paho drops them and we resend. A new
//     process first empties the session an earlier process left behind
//     (clear_stale_session()): its QoS 2 packet ids would swallow ours.
//  6. A confirmation for a message of an earlier session is ignored: that
//     reading was already queued for sending again. At worst a duplicate.
//  7. Paho calls back on its own threads; those callbacks only append to
//     `events_` under `mutex_` and notify. All bookkeeping (inflight_, cursor_,
//     store calls) and every call into the Paho client (publish_stats() too,
//     by way of `events_`) happen on the forwarder thread, which may replace
//     the client before a connect attempt (see connect_session()). Paho's
//     exceptions are caught on that thread and become state + last_error;
//     nothing throws out of it.
//  8. device-json: consecutive readings of one device (one poll's batch is
//     appended contiguously) form one message, acked together; a point seen
//     twice starts a new message, so a message never holds two polls' values
//     of one point.
//  9. Commands (command_channel.hpp) share the session: the channel is reset
//     at each connect and serviced by this thread, between publishes.
//
// States (state_, written by the forwarder thread only) and who moves them
//
//   Disconnected ── connect_session() ──► Connecting ── on_connected() ──► Connected
//     ▲     ▲                                  │                           │      │
//     │     └─ connect_session(): failed, ─────┘                           │      │ stop()
//     │        waits the back-off                                          │      ▼
//     └─ lose_session(): connection lost, a delivery or publish failed ◄───┘   Draining
//                                                                              │
//   Stopped ◄── close_session(): "offline", DISCONNECT ◄── drain_session() ◄───┘
//   Stopped ◄── run(): stop() while Disconnected or Connecting
//
// Logging: one line per state change or change of error, never one per retry.
#include "bridge/forwarder.hpp"

#include <fmt/format.h>
#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bridge/command_channel.hpp"
#include "bridge/mqtt_session.hpp"
#include "bridge/outgoing.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A peek reads at least this many rows, so that a device-json poll is seen
// whole even when the window has little room.
constexpr std::size_t kMinPeek = 256;
// Without a wake() (no commit listener), the store is looked at this often.
constexpr milliseconds kIdleRecheck{1000};
constexpr milliseconds kConnectGrace{5000};  // beyond Paho's own connect timeout
constexpr milliseconds kOfflineWait{2000};
constexpr milliseconds kDisconnectWait{2000};
// clean_session = false: after this many sessions in a row that ended before
// anything was confirmed, the forwarder gives up on the session (see
// connect_session()).
constexpr int kMaxBarrenSessions = 2;

enum class State { kDisconnected, kConnecting, kConnected, kDraining, kStopped };

// Paho's publish() errors that concern the message, not the session
// (invariant 10): retrying it, in this session or the next, fails the same way.
constexpr std::array kPerMessageErrors = {MQTTASYNC_BAD_UTF8_STRING, MQTTASYNC_NULL_PARAMETER,
                                          MQTTASYNC_TOPICNAME_TRUNCATED, MQTTASYNC_BAD_STRUCTURE,
                                          MQTTASYNC_BAD_QOS};

// MQTT 5 reason codes in a PUBACK/PUBREC that refuse this one message for
// good; 0x91 (packet id in use) and 0x97 (quota exceeded) pass, and end the
// session as any other failure does.
// (Paho C++ reports MQTTPP_V3_CODE, 255, for failures without a reason code.)
bool refuses_for_good(int reason_code) {
  return reason_code >= 0x80 && reason_code != mqtt::ReasonCode::MQTTPP_V3_CODE &&
         reason_code != 0x91 && reason_code != 0x97;
}

// Distinct refusals logged at warning level; after that, counted only.
constexpr std::size_t kMaxLoggedRefusals = 64;
// Invariant 11: a message sent alone, and the session ends this soon after,
// this many times in a row: the broker is taken to refuse it.
constexpr std::chrono::seconds kPoisonWindow{5};
constexpr int kPoisonStrikes = 3;

}  // namespace

class Forwarder::Impl {
 public:
  Impl(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway, Store& store,
       TopicMap topics, ForwarderParts parts)
      : mqtt_(mqtt),
        session_(detail::make_session_settings(mqtt, gateway)),
        connect_options_(detail::make_connect_options(mqtt, session_)),
        stats_topic_(session_.status_topic + "/stats"),
        store_(store),
        topics_(std::make_shared<const TopicMap>(std::move(topics))),
        encoders_(std::move(parts.encoders)),
        rng_(std::random_device{}()) {
    detail::bind_connect_properties(connect_options_);  // Paho C++ 1.2.0, see there
    new_client();  // here, so that a URI Paho rejects fails the constructor
  }

  ~Impl() { stop(mqtt_.drain_timeout); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start() {
    if (thread_.joinable()) return;
    spdlog::info("mqtt: forwarding to {}", detail::describe_session(mqtt_, session_));
    heartbeat_.expect_within(mqtt_.connect_timeout + kConnectGrace);
    thread_ = std::thread([this] { run(); });
  }

  void stop(milliseconds drain) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) drain_ = drain;
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void wake() {
    std::lock_guard lock(mutex_);
    events_.woken = true;
    cv_.notify_all();
  }

  void set_topics(TopicMap topics) {
    auto fresh = std::make_shared<const TopicMap>(std::move(topics));
    std::lock_guard lock(topics_mutex_);
    topics_ = std::move(fresh);
  }

  // Handed to the forwarder thread: only that thread touches the client,
  // which it may replace between connects.
  void publish_stats(const std::string& payload) {
    if (!stats().connected) return;
    std::lock_guard lock(mutex_);
    events_.stats_payload = payload;  // a newer one replaces one not sent yet
    cv_.notify_all();
  }

  [[nodiscard]] ForwarderStats stats() const {
    std::lock_guard lock(stats_mutex_);
    ForwarderStats out = stats_;
    out.command_topics = commands_.subscribed();
    out.results = commands_.result_counts();
    return out;
  }

  [[nodiscard]] const Heartbeat& heartbeat() const noexcept { return heartbeat_; }
  detail::CommandChannel& commands() { return commands_; }

 private:
  // Paho calls these on its own threads: record the outcome, nothing more.
  class DeliveryListener final : public mqtt::iaction_listener {
   public:
    explicit DeliveryListener(Impl& impl) : impl_(impl) {}
    void on_success(const mqtt::token& tok) override { impl_.on_delivery(tok, true); }
    void on_failure(const mqtt::token& tok) override { impl_.on_delivery(tok, false); }

   private:
    Impl& impl_;
  };

  using MessageId = std::uintptr_t;  // travels as Paho's user context

  struct InflightMessage {
    int qos = 0;
    std::string topic;                     // for the log, should the broker refuse it
    std::uint64_t seq = 0;                 // the (first) reading
    std::vector<std::uint64_t> more_seqs;  // the rest of a device-json message
  };

  struct Events {
    std::vector<MessageId> confirmed;
    std::vector<std::pair<MessageId, std::string>> failed;
    std::vector<std::pair<MessageId, std::string>> refused;  // for good (invariant 10)
    bool lost = false;
    std::string lost_cause;
    bool woken = false;
    std::optional<std::string> stats_payload;
  };

  void on_delivery(const mqtt::token& tok, bool ok) {
    const auto id = reinterpret_cast<MessageId>(tok.get_user_context());
    std::lock_guard lock(mutex_);
    if (ok) {
      events_.confirmed.push_back(id);
      // Once, when the forwarder can use them (see wait_for_events).
      if (events_.confirmed.size() == confirmations_wanted_) cv_.notify_all();
    } else if (const int reason = static_cast<int>(tok.get_reason_code());
               refuses_for_good(reason)) {
      events_.refused.emplace_back(
          id, fmt::format("the broker refused it: {} (MQTT 5 reason code {:#04x})",
                          mqtt::exception::reason_code_str(reason), reason));
      if (events_.refused.size() == 1) cv_.notify_all();
    } else {
      events_.failed.emplace_back(id, fmt::format("delivery failed: {} ({})",
                                                  mqtt::exception::error_str(tok.get_return_code()),
                                                  tok.get_return_code()));
      if (events_.failed.size() == 1) cv_.notify_all();
    }
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  Events take_events() {
    std::lock_guard lock(mutex_);
    return std::exchange(events_, Events{});
  }

  // Sleeps until something happened or `timeout`; true when stopping.
  // Confirmations count once `confirmations` of them are waiting: with more
  // than half the window in flight, a wake-up per confirmation only acked and
  // slept again (at QoS 0 the hand-offs were the largest cost in the profile).
  bool wait_for_events(milliseconds timeout, std::size_t confirmations = 1) {
    heartbeat_.expect_within(timeout);
    std::unique_lock lock(mutex_);
    confirmations_wanted_ = std::max<std::size_t>(1, confirmations);
    cv_.wait_for(lock, timeout, [this] {
      return stopping_ || events_.lost || events_.woken ||
             events_.confirmed.size() >= confirmations_wanted_ || !events_.failed.empty() ||
             !events_.refused.empty() || events_.stats_payload.has_value();
    });
    confirmations_wanted_ = 1;
    return stopping_;
  }

  // Sleeps `delay` unless stop() comes first; true when stopping.
  bool sleep_unless_stopped(milliseconds delay) {
    heartbeat_.expect_within(delay);
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, delay, [this] { return stopping_; });
  }

  void set_state(State state) {
    state_ = state;
    std::lock_guard lock(stats_mutex_);
    stats_.connected = state == State::kConnected || state == State::kDraining;
    stats_.inflight = inflight_.size();
  }

  void run() {
    while (!stopping()) {
      try {
        if (!connect_session()) continue;
        serve_session();
      } catch (const std::exception& e) {
        // The store or a payload encoder failed: keep going, never die.
        spdlog::error("mqtt: forwarder error: {}", e.what());
        if (state_ == State::kConnected) lose_session(e.what());
        sleep_unless_stopped(backoff_delay(1));
      }
    }
    if (state_ == State::kConnected) {
      drain_session();
      close_session();
    } else {
      abandon_connect();
    }
    set_state(State::kStopped);
    heartbeat_.clear();
  }

  // Disconnected → Connecting → Connected (true) or back to Disconnected after
  // the back-off delay (false).
  bool connect_session() {
    set_state(State::kConnecting);
    {
      std::lock_guard lock(mutex_);
      events_.lost = false;    // any loss recorded belongs to the previous session
      events_.failed.clear();  // refusals stay: they concern messages, not the session
    }
    // A Paho handle that already connected once notices a new connection
    // only after its receive thread's current wait (about a second), and a
    // broker gone meanwhile holds the attempt for the whole connect timeout.
    // A fresh client has no such lag. With a clean session Paho drops its
    // state at connect anyway; without, its in-memory QoS 2 state must live
    // on (a fresh client could reuse a packet id the broker still holds).
    if (used_client_ && mqtt_.clean_session) new_client();
    if (!mqtt_.clean_session && barren_sessions_ >= kMaxBarrenSessions) {
      // A resumed session that breaks again before the broker
      // confirms anything: the client's session state is what the broker
      // refuses (seen after a connection reset in the middle of a packet:
      // "malformed packet" on every reconnect). Start over with a fresh
      // client and an emptied session; what was in flight goes out again.
      spdlog::warn(
          "mqtt: {} sessions in a row ended before anything was confirmed; starting a clean "
          "session (unconfirmed messages are sent again, duplicates possible)",
          barren_sessions_);
      new_client();
      stale_session_cleared_ = false;
      retire_inflight();
      inflight_qos2_ = 0;
      cursor_ = 0;
      forget_ahead();
      barren_sessions_ = 0;
    }
    used_client_ = true;
    std::string error;
    bool session_present = false;
    try {
      // Clearing a stale session is one more connect before this one.
      heartbeat_.expect_within((mqtt_.connect_timeout + kConnectGrace) * 2);
      if (!mqtt_.clean_session && !stale_session_cleared_) clear_stale_session();
      const auto token = client_->connect(connect_options_);
      const auto deadline = Clock::now() + mqtt_.connect_timeout + kConnectGrace;
      while (!token->wait_for(milliseconds(100))) {
        if (stopping()) return false;
        if (Clock::now() > deadline) {
          error = fmt::format("no CONNACK within {}", detail::format_delay(mqtt_.connect_timeout));
          break;
        }
      }
      if (error.empty()) session_present = token->get_connect_response().is_session_present();
    } catch (const mqtt::exception& e) {
      error = detail::describe_connect_failure(e, mqtt_, session_);
    }
    if (!error.empty()) {
      const auto delay = backoff_delay(++consecutive_failures_);
      {
        std::lock_guard lock(stats_mutex_);
        ++stats_.connect_failures;
        stats_.last_error = error;
      }
      if (error != logged_error_) {
        spdlog::warn("mqtt: cannot connect to {}: {}; retrying in {}", session_.uri, error,
                     detail::format_delay(delay));
        logged_error_ = error;
      } else {
        spdlog::debug("mqtt: cannot connect to {}: {}; retrying in {}", session_.uri, error,
                      detail::format_delay(delay));
      }
      set_state(State::kDisconnected);
      sleep_unless_stopped(delay);
      return false;
    }
    return on_connected(session_present);
  }

  // clean_session = false, first connect of this process: the broker may
  // still hold the session of the previous process, with QoS 2 packet ids
  // waiting for a PUBREL that this fresh client knows nothing of. A new
  // PUBLISH reusing such an id would be taken for a repeat and dropped — a
  // lost reading. One clean connect and disconnect empties that session; what
  // the previous process had in flight is unconfirmed in the store and goes
  // out again (a duplicate at worst). Throws mqtt::exception when the broker
  // cannot be reached, like the connect that follows.
  void clear_stale_session() {
    auto options = connect_options_;
    if (mqtt_.protocol == 5) {
      options.set_clean_start(true);
    } else {
      options.set_clean_session(true);
    }
    const auto wait = mqtt_.connect_timeout + kConnectGrace;
    if (!client_->connect(options)->wait_for(wait)) throw mqtt::exception(MQTTASYNC_FAILURE);
    client_->disconnect(0)->wait_for(kDisconnectWait);
    stale_session_cleared_ = true;
  }

  // Connecting → Connected, with the birth message; false (back to
  // Disconnected after a delay) when even that cannot be published.
  bool on_connected(bool session_present) {
    session_confirmed_ = false;
    if (!mqtt_.clean_session && session_present) {
      // Invariant 5: the broker kept the session, and Paho sends what was in
      // flight again under the same packet ids (the broker drops QoS 2
      // repeats). Publishing it again ourselves would duplicate it and could
      // exceed the broker's QoS 2 quota on every reconnect.
      // Newer readings wait until those are confirmed: per topic order.
      resume_barrier_ = next_message_id_;
      resumed_at_ = Clock::now();
      if (!inflight_.empty()) {
        spdlog::info("mqtt: session resumed; {} unconfirmed messages are completed by the client",
                     inflight_.size());
      }
    } else {
      retire_inflight();
      inflight_qos2_ = 0;
      cursor_ = 0;
      forget_ahead();
    }
    spdlog::info("mqtt: connected to {} as {} ({}){}", session_.uri, session_.client_id,
                 detail::protocol_name(mqtt_.protocol),
                 consecutive_failures_ > 0
                     ? fmt::format(" after {} failed attempts", consecutive_failures_)
                     : "");
    {
      std::lock_guard lock(stats_mutex_);
      if (ever_connected_) ++stats_.reconnects;
      stats_.last_error.clear();
    }
    ever_connected_ = true;
    consecutive_failures_ = 0;
    logged_error_.clear();
    set_state(State::kConnected);
    encoders_.start_session();
    commands_.start_session();
    try {
      client_->publish(
          mqtt::make_message(session_.status_topic, std::string(detail::kOnline), 1, true));
    } catch (const mqtt::exception& e) {
      lose_session(fmt::format("cannot publish the birth message: {}", e.what()));
      sleep_unless_stopped(backoff_delay(1));
      return false;
    }
    return true;
  }

  // Connected: ack what the broker confirmed, keep the window full, until the
  // session breaks (→ Disconnected) or stop() is called (state stays Connected).
  void serve_session() {
    while (state_ == State::kConnected) {
      Events events = take_events();
      std::string broken = apply_events(events);
      if (events.stats_payload) publish_stats_now(*events.stats_payload);
      commands_.service(*client_);
      if (broken.empty() && !stopping()) broken = fill_window();
      if (!broken.empty()) {
        lose_session(broken);
        sleep_unless_stopped(backoff_delay(1));
        return;
      }
      // fill_window() refills once at most half the window is in flight.
      const auto half = static_cast<std::size_t>(mqtt_.max_inflight) / 2;
      const auto useful = inflight_.size() > half ? inflight_.size() - half : 1;
      if (wait_for_events(kIdleRecheck, useful)) return;
    }
  }

  // Acks confirmed readings; returns why the session is broken, or "".
  std::string apply_events(const Events& events) {
    std::vector<std::uint64_t> seqs;
    for (const MessageId id : events.confirmed) {
      const auto it = inflight_.find(id);
      if (it == inflight_.end()) continue;  // an earlier session's message (invariant 6)
      seqs.push_back(it->second.seq);
      seqs.insert(seqs.end(), it->second.more_seqs.begin(), it->second.more_seqs.end());
      if (it->second.qos == 2) --inflight_qos2_;
      inflight_.erase(it);
    }
    if (!seqs.empty()) {
      store_.ack(seqs);
      session_confirmed_ = true;
      if (suspect_.seq != 0 && std::find(seqs.begin(), seqs.end(), suspect_.seq) != seqs.end()) {
        clear_suspect();
      }
    }
    for (const auto& [id, reason] : events.refused) {
      auto it = inflight_.find(id);
      const bool current = it != inflight_.end();
      if (!current) {
        it = previous_inflight_.find(id);  // refused, then the session ended
        if (it == previous_inflight_.end()) continue;
      }
      std::vector<std::uint64_t> refused{it->second.seq};
      refused.insert(refused.end(), it->second.more_seqs.begin(), it->second.more_seqs.end());
      dead_letter(refused, it->second.topic, reason);
      if (std::find(refused.begin(), refused.end(), suspect_.seq) != refused.end()) {
        clear_suspect();
      }
      if (current) {
        if (it->second.qos == 2) --inflight_qos2_;
        inflight_.erase(it);
        session_confirmed_ = true;  // the broker answered: the session works
      } else {
        previous_inflight_.erase(it);
        // Peeked again already for the new session: not sent a second time.
        std::erase_if(ahead_, [&](const Reading& r) {
          return std::find(refused.begin(), refused.end(), r.seq) != refused.end();
        });
        ahead_pos_ = std::min(ahead_pos_, ahead_.size());
      }
    }
    {
      std::lock_guard lock(stats_mutex_);
      stats_.delivered += seqs.size();
      stats_.inflight = inflight_.size();
    }
    for (const auto& [id, reason] : events.failed) {
      if (inflight_.contains(id)) return reason;
    }
    if (events.lost) return events.lost_cause;
    return {};
  }

  // Publishes up to the window's room from the rows read ahead past the
  // cursor (topped up from the store); returns why the session is broken, or "".
  std::string fill_window() {
    // After a resumed session, what Paho sends again goes first (on_connected()).
    if (std::any_of(inflight_.begin(), inflight_.end(),
                    [&](const auto& entry) { return entry.first < resume_barrier_; })) {
      // Never wait for them for ever: a session that cannot finish them ends
      // (and after kMaxBarrenSessions, a clean one starts).
      if (Clock::now() - resumed_at_ > mqtt_.connect_timeout) {
        return "the resumed session's messages were not confirmed";
      }
      return {};
    }
    // Invariant 11: one message at a time while a suspect is isolated.
    const auto window = isolating_ ? std::size_t{1} : static_cast<std::size_t>(mqtt_.max_inflight);
    if (isolating_ && !inflight_.empty()) return {};
    // Refill when half the window is free: fewer, larger peeks.
    if (!inflight_.empty() && inflight_.size() > window / 2) return {};
    const std::size_t room = window - inflight_.size();
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
    std::size_t used = 0;  // rows handed to Paho
    std::string broken;
    bool qos2_full = false;
    while (!qos2_full && broken.empty() && published < room && used < rows.size()) {
      const auto rest = rows.subspan(used);
      // Render only what can go out now: at QoS 2 the window is small, and
      // payloads planned beyond it would be thrown away and rendered again.
      std::size_t limit = room - published;
      const auto& next = rest.front();
      if (topics->route(next.device, next.point, next.unit).qos == 2) {
        limit = std::min(limit, max_qos2 - std::min(inflight_qos2_, max_qos2));
        if (limit == 0) break;
      }
      auto messages = detail::plan_messages(rest, *topics, encoders_, limit, ahead_full_);
      if (messages.empty()) break;
      const std::size_t offset = used;
      for (auto& message : messages) {
        // In order: a QoS 2 message that does not fit waits, and so does everything after it.
        // Brokers disconnect a client with more QoS 2 messages open than they
        // allow ("quota exceeded"), see MqttConfig::max_inflight_qos2.
        if (message.route.qos == 2 && inflight_qos2_ >= max_qos2) {
          qos2_full = true;
          break;
        }
        const auto readings = rest.subspan(message.first, message.count);
        bool sent = false;
        broken = publish(message, readings, sent);
        if (!broken.empty()) break;
        cursor_ = readings.back().seq;
        used = offset + message.first + message.count;
        if (sent) ++published;
      }
    }
    ahead_pos_ += used;
    std::lock_guard lock(stats_mutex_);
    stats_.published += published;
    stats_.inflight = inflight_.size();
    return broken;
  }

  // Makes at least `want` rows past the cursor available in ahead_ if the
  // store has them, peeking only for the missing ones.
  void top_up_ahead(std::size_t want) {
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

  void forget_ahead() {
    ahead_.clear();
    ahead_pos_ = 0;
    ahead_full_ = false;
  }

  void publish_stats_now(const std::string& payload) {
    try {
      client_->publish(mqtt::make_message(stats_topic_, payload, 0, false));
    } catch (const mqtt::exception& e) {
      spdlog::debug("mqtt: stats not published: {}", e.what());
    }
  }

  void new_client() {
    client_.reset();  // destroyed first: its callbacks stop before the next one's start
    client_ = detail::make_client(mqtt_, session_);
    client_->set_connection_lost_handler([this](const std::string& cause) {
      std::lock_guard lock(mutex_);
      events_.lost = true;
      events_.lost_cause = cause.empty() ? "connection lost" : "connection lost: " + cause;
      cv_.notify_all();
    });
    client_->set_message_callback(
        [this](mqtt::const_message_ptr message) { commands_.on_message(message); });
  }

  // Hands one message to Paho (`sent`), or dead-letters its readings when no
  // broker can take it (invariant 10). Returns why the session is broken, or "".
  std::string publish(detail::OutgoingMessage& outgoing, std::span<const Reading> readings,
                      bool& sent) {
    const Route& route = outgoing.route;
    std::vector<std::uint64_t> seqs;
    for (const auto& r : readings) seqs.push_back(r.seq);
    if (auto reason = detail::refusal_reason(outgoing, mqtt_.max_payload); !reason.empty()) {
      dead_letter(seqs, route.topic, reason);
      return {};
    }
    const MessageId id = next_message_id_++;
    try {
      client_->publish(
          mqtt::make_message(route.topic, std::move(outgoing.payload), route.qos, route.retain),
          reinterpret_cast<void*>(id), listener_);
    } catch (const mqtt::exception& e) {
      const int rc = e.get_return_code();
      if (std::find(kPerMessageErrors.begin(), kPerMessageErrors.end(), rc) !=
          kPerMessageErrors.end()) {
        dead_letter(seqs, route.topic, fmt::format("the MQTT client refused it: {}", e.what()));
        return {};
      }
      return fmt::format("cannot publish seq {} on {}: {}", readings.front().seq,
                         detail::describe_topic(route.topic), to_valid_utf8(e.what()));
    }
    sent = true;
    if (isolating_) isolated_sent_at_ = Clock::now();
    InflightMessage message;
    message.qos = route.qos;
    message.topic = route.topic;
    if (route.qos == 2) ++inflight_qos2_;
    message.seq = seqs.front();
    message.more_seqs.assign(seqs.begin() + 1, seqs.end());
    inflight_.emplace(id, std::move(message));
    return {};
  }

  // Invariant 10: the readings leave the window for the dead-letter table.
  void dead_letter(std::span<const std::uint64_t> seqs, const std::string& topic,
                   const std::string& reason) {
    std::vector<DeadLetter> letters;
    letters.reserve(seqs.size());
    const auto shown = detail::describe_topic(topic);
    const auto text = fmt::format("{} (topic {})", reason, shown);
    for (const auto seq : seqs) letters.push_back({seq, text});
    store_.dead_letter(letters);
    std::uint64_t total = 0;
    {
      std::lock_guard lock(stats_mutex_);
      stats_.dead_lettered += seqs.size();
      total = stats_.dead_lettered;
    }
    // One line per kind of refusal and topic, from a bounded set; the count
    // goes on in the stats and in `fieldgate queue stats`.
    const auto key = reason.substr(0, reason.find(':')) + '\n' + shown;
    if (logged_refusals_.size() < kMaxLoggedRefusals && logged_refusals_.insert(key).second) {
      spdlog::warn(
          "mqtt: seq {} cannot be published on {}: {}; moved to the dead-letter table with {} "
          "reading(s) ({} since start; `fieldgate queue ls --dead` shows them; further ones like "
          "it are counted, not logged)",
          seqs.front(), shown, reason, seqs.size(), total);
    }
  }

  // The window of a session that ended: its messages will be sent again.
  // Kept until the next session ends, for a refusal that Paho reports after
  // the loss of the session (a broker that answers PUBACK 0x95 and then
  // closes the connection: mosquitto does), so that its readings are still
  // dead-lettered rather than refused once more (invariant 10).
  void retire_inflight() {
    if (!inflight_.empty()) previous_inflight_ = std::move(inflight_);
    inflight_.clear();
  }

  // Invariant 11, at the end of a session: the first unconfirmed reading
  // becomes (or stays) the suspect; sent alone and lost too often, it is
  // dead-lettered.
  void note_suspect() {
    if (inflight_.empty()) return;
    const auto head =
        std::min_element(inflight_.begin(), inflight_.end(),
                         [](const auto& a, const auto& b) { return a.second.seq < b.second.seq; });
    const InflightMessage& message = head->second;
    if (message.seq != suspect_.seq) {
      suspect_ = Suspect{message.seq, 0, 0};
      isolating_ = false;
    }
    ++suspect_.losses;
    if (isolating_ && inflight_.size() == 1 && Clock::now() - isolated_sent_at_ < kPoisonWindow) {
      ++suspect_.alone;
    }
    if (suspect_.alone >= kPoisonStrikes) {
      std::vector<std::uint64_t> seqs{message.seq};
      seqs.insert(seqs.end(), message.more_seqs.begin(), message.more_seqs.end());
      dead_letter(seqs, message.topic,
                  fmt::format("the broker closed the connection each time it was sent ({} times, "
                              "alone, within {} s)",
                              suspect_.alone, kPoisonWindow.count()));
      inflight_.erase(head);
      clear_suspect();
      return;
    }
    if (suspect_.losses >= 2 && !isolating_) {
      isolating_ = true;
      spdlog::info(
          "mqtt: seq {} was unconfirmed when the last {} sessions ended; messages go out one at "
          "a time until the broker confirms it",
          message.seq, suspect_.losses);
    }
  }

  void clear_suspect() {
    if (isolating_) spdlog::info("mqtt: messages go out in full windows again");
    suspect_ = Suspect{};
    isolating_ = false;
  }

  // Connected → Disconnected: everything in flight will be sent again.
  void lose_session(const std::string& reason) {
    const std::size_t unconfirmed = inflight_.size();
    barren_sessions_ = session_confirmed_ || unconfirmed == 0 ? 0 : barren_sessions_ + 1;
    // Kept for a session the broker may resume (clean_session = false);
    // on_connected() decides.
    if (mqtt_.clean_session) {
      note_suspect();
      retire_inflight();
      inflight_qos2_ = 0;
      cursor_ = 0;
      forget_ahead();
    }
    {
      std::lock_guard lock(stats_mutex_);
      stats_.last_error = to_valid_utf8(reason);  // it goes into JSON (the stats message)
    }
    spdlog::warn("mqtt: session with {} ended: {}; {} unconfirmed messages will be sent again",
                 session_.uri, to_valid_utf8(reason), unconfirmed);
    logged_error_.clear();
    set_state(State::kDisconnected);
    try {
      if (client_->is_connected()) client_->disconnect(0)->wait_for(kDisconnectWait);
    } catch (const mqtt::exception&) {
      // Already gone: nothing to close.
    }
  }

  // Connected → Draining: no new readings; wait up to drain_ for the
  // confirmations of those in flight.
  void drain_session() {
    set_state(State::kDraining);
    milliseconds drain{0};
    {
      std::lock_guard lock(mutex_);
      drain = drain_;
    }
    const auto deadline = Clock::now() + drain;
    while (!inflight_.empty()) {
      const Events events = take_events();
      if (!apply_events(events).empty()) return;  // lost: nothing more will be confirmed
      const auto now = Clock::now();
      if (now >= deadline || inflight_.empty()) break;
      wait_for_events(
          std::min(std::chrono::duration_cast<milliseconds>(deadline - now), milliseconds(100)));
    }
  }

  // Draining → Stopped: retained "offline", then a clean disconnect (which
  // tells the broker not to send the Last Will).
  void close_session() {
    if (client_->is_connected()) {
      try {
        client_
            ->publish(
                mqtt::make_message(session_.status_topic, std::string(detail::kOffline), 1, true))
            ->wait_for(kOfflineWait);
      } catch (const mqtt::exception& e) {
        // MQTT 5 reports "no matching subscribers" this way too; not a failure.
        spdlog::debug("mqtt: offline status: {}", e.what());
      }
      try {
        client_->disconnect(static_cast<int>(kDisconnectWait.count()))->wait_for(kDisconnectWait);
      } catch (const mqtt::exception& e) {
        spdlog::debug("mqtt: disconnect: {}", e.what());
      }
    }
    apply_events(take_events());  // confirmations that came in meanwhile
    spdlog::info(
        "mqtt: disconnected from {}; {} messages in flight were not confirmed and stay "
        "in the buffer",
        session_.uri, inflight_.size());
    inflight_.clear();
    inflight_qos2_ = 0;
  }

  // Stopped while connecting: a connect Paho completes anyway is closed cleanly.
  void abandon_connect() {
    try {
      if (client_->is_connected()) client_->disconnect(0)->wait_for(kDisconnectWait);
    } catch (const mqtt::exception&) {
      // Not connected after all.
    }
  }

  milliseconds backoff_delay(int attempt) {
    return detail::reconnect_delay(mqtt_, attempt, std::uniform_real_distribution<double>()(rng_));
  }

  // Immutable after construction.
  config::MqttConfig mqtt_;
  detail::SessionSettings session_;
  mqtt::connect_options connect_options_;
  std::string stats_topic_;
  Store& store_;

  mutable std::mutex topics_mutex_;
  std::shared_ptr<const TopicMap> topics_;
  EncoderRegistry encoders_;  // forwarder thread only

  // Shared with Paho's threads and callers.
  std::mutex mutex_;
  std::condition_variable cv_;
  Events events_;
  std::size_t confirmations_wanted_ = 1;  // wake the forwarder at this many confirmed
  bool stopping_ = false;
  milliseconds drain_{0};

  mutable std::mutex stats_mutex_;
  ForwarderStats stats_;

  // Forwarder thread only.
  State state_ = State::kDisconnected;
  std::unordered_map<MessageId, InflightMessage> inflight_;
  std::unordered_map<MessageId, InflightMessage> previous_inflight_;  // see retire_inflight()
  std::size_t inflight_qos2_ =
      0;  // of inflight_, those at QoS 2 (bounded by mqtt_.max_inflight_qos2)
  std::uint64_t cursor_ = 0;
  // Rows peeked past cursor_, not yet published (invariant 3); ahead_pos_ is
  // the first of them. ahead_full_: the last peek returned all it was asked.
  std::vector<Reading> ahead_;
  std::size_t ahead_pos_ = 0;
  bool ahead_full_ = false;
  MessageId next_message_id_ = 1;
  MessageId resume_barrier_ = 0;  // messages older than this were resumed (fill_window())
  Clock::time_point resumed_at_{};
  int consecutive_failures_ = 0;
  bool used_client_ = false;            // client_ has been asked to connect
  bool stale_session_cleared_ = false;  // clean_session = false: see clear_stale_session()
  bool session_confirmed_ = false;      // the broker confirmed something in this session
  int barren_sessions_ = 0;  // sessions in a row that ended with messages out, none confirmed
  bool ever_connected_ = false;
  std::string logged_error_;
  std::set<std::string> logged_refusals_;  // kind and topic of refusals logged (bounded)
  // Invariant 11: the reading first among the unconfirmed when sessions ended.
  struct Suspect {
    std::uint64_t seq = 0;  // 0: none
    int losses = 0;         // sessions in a row that ended with it first unconfirmed
    int alone = 0;          // of those, ended soon after it was sent alone
  };
  Suspect suspect_;
  bool isolating_ = false;  // one message at a time
  Clock::time_point isolated_sent_at_{};
  std::mt19937_64 rng_;

  Heartbeat heartbeat_;  // the forwarder thread's promise, for the watchdog
  detail::CommandChannel commands_{[this] { wake(); }};
  std::thread thread_;
  DeliveryListener listener_{*this};
  // Last, so it is destroyed first: no Paho callback outlives what it uses.
  std::unique_ptr<mqtt::async_client> client_;
};

Forwarder::Forwarder(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway,
                     Store& store, TopicMap topics, ForwarderParts parts)
    : impl_(std::make_unique<Impl>(mqtt, gateway, store, std::move(topics), std::move(parts))) {}

Forwarder::~Forwarder() = default;

void Forwarder::start() {
  impl_->start();
}
void Forwarder::stop(std::chrono::milliseconds drain) {
  impl_->stop(drain);
}
void Forwarder::wake() {
  impl_->wake();
}
void Forwarder::set_topics(TopicMap topics) {
  impl_->set_topics(std::move(topics));
}
void Forwarder::publish_stats(const std::string& payload) {
  impl_->publish_stats(payload);
}
ForwarderStats Forwarder::stats() const {
  return impl_->stats();
}
const Heartbeat& Forwarder::heartbeat() const noexcept {
  return impl_->heartbeat();
}
void Forwarder::set_command_handler(CommandHandler handler) {
  impl_->commands().set_handler(std::move(handler));
}
void Forwarder::set_command_topics(std::vector<std::string> topics, int qos) {
  impl_->commands().set_topics(std::move(topics), qos);
}
void Forwarder::publish_result(std::string topic, std::string payload, int qos) {
  impl_->commands().queue_result(std::move(topic), std::move(payload), qos,
                                 impl_->stats().connected);
}

}  // namespace fieldgate::bridge
