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
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bridge/command_channel.hpp"
#include "bridge/mqtt_session.hpp"
#include "bridge/outgoing.hpp"

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

}  // namespace

class Forwarder::Impl {
 public:
  Impl(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway, Store& store,
       TopicMap topics)
      : mqtt_(mqtt),
        session_(detail::make_session_settings(mqtt, gateway)),
        connect_options_(detail::make_connect_options(mqtt, session_)),
        stats_topic_(session_.status_topic + "/stats"),
        store_(store),
        topics_(std::make_shared<const TopicMap>(std::move(topics))),
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
    std::uint64_t seq = 0;                 // the (first) reading
    std::vector<std::uint64_t> more_seqs;  // the rest of a device-json message
  };

  struct Events {
    std::vector<MessageId> confirmed;
    std::vector<std::pair<MessageId, std::string>> failed;
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
             events_.stats_payload.has_value();
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
      events_.lost = false;  // any loss recorded belongs to the previous session
      events_.failed.clear();
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
      inflight_.clear();
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
      inflight_.clear();
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
    const auto window = static_cast<std::size_t>(mqtt_.max_inflight);
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
      auto messages = detail::plan_messages(rest, *topics, limit, ahead_full_);
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
        broken = publish(message.route, std::move(message.payload), readings);
        if (!broken.empty()) break;
        cursor_ = readings.back().seq;
        used = offset + message.first + message.count;
        ++published;
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

  std::string publish(const Route& route, std::string payload, std::span<const Reading> readings) {
    const MessageId id = next_message_id_++;
    try {
      client_->publish(mqtt::make_message(route.topic, std::move(payload), route.qos, route.retain),
                       reinterpret_cast<void*>(id), listener_);
    } catch (const mqtt::exception& e) {
      return fmt::format("cannot publish seq {} on {}: {}", readings.front().seq, route.topic,
                         e.what());
    }
    InflightMessage message;
    message.qos = route.qos;
    if (route.qos == 2) ++inflight_qos2_;
    message.seq = readings.front().seq;
    for (std::size_t k = 1; k < readings.size(); ++k) message.more_seqs.push_back(readings[k].seq);
    inflight_.emplace(id, std::move(message));
    return {};
  }

  // Connected → Disconnected: everything in flight will be sent again.
  void lose_session(const std::string& reason) {
    const std::size_t unconfirmed = inflight_.size();
    barren_sessions_ = session_confirmed_ || unconfirmed == 0 ? 0 : barren_sessions_ + 1;
    // Kept for a session the broker may resume (clean_session = false);
    // on_connected() decides.
    if (mqtt_.clean_session) {
      inflight_.clear();
      inflight_qos2_ = 0;
      cursor_ = 0;
      forget_ahead();
    }
    {
      std::lock_guard lock(stats_mutex_);
      stats_.last_error = reason;
    }
    spdlog::warn("mqtt: session with {} ended: {}; {} unconfirmed messages will be sent again",
                 session_.uri, reason, unconfirmed);
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
    spdlog::info("mqtt: disconnected from {}; {} messages unconfirmed stay in the store",
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
  std::mt19937_64 rng_;

  Heartbeat heartbeat_;  // the forwarder thread's promise, for the watchdog
  detail::CommandChannel commands_{[this] { wake(); }};
  std::thread thread_;
  DeliveryListener listener_{*this};
  // Last, so it is destroyed first: no Paho callback outlives what it uses.
  std::unique_ptr<mqtt::async_client> client_;
};

Forwarder::Forwarder(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway,
                     Store& store, TopicMap topics)
    : impl_(std::make_unique<Impl>(mqtt, gateway, store, std::move(topics))) {}

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
