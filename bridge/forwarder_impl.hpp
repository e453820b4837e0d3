// Private to bridge/: the forwarder's session — its thread, its state
// machine, connect and back-off, and the session hooks — around the window
// (forwarder_window.*: in flight, acknowledgements, dead letters) and the
// pump (forwarder_pump.*: store → encoder → publish). forwarder.cpp holds the
// thread and the public API, forwarder_session.cpp connect and disconnect.
// None of them knows the MQTT library: they speak to an MqttClient
// (mqtt_client.hpp, the client seam), made by detail::make_mqtt_client();
// Paho (paho_client.cpp) is its implementation. "The client" below is that
// MqttClient; where a note says Paho, it is about how Paho behaves.
//
// Design notes
// ============
//
// Invariants
//  1. The store is the only source of truth. The client runs without
//     persistence, without offline buffering and without automatic reconnect;
//     the forwarder's own thread connects, publishes and reconnects.
//  2. A reading is acked to the store (and so deleted) only after the client
//     reported the message delivered (CompletionSink::on_published): PUBACK for QoS 1, PUBCOMP for
//     QoS 2, written to the socket for QoS 0. Nothing else calls Store::ack.
// 10. A message no client or broker can take is dead-lettered
//     (Store::dead_letter), never retried and never a reason to end the
//     session: one that refusal_reason() rejects (topic too long, not UTF-8,
//     payload over max_payload) is not handed to the client at all; one that
//     the client's publish() refuses for itself (MqttStatus::kMessageRefused;
//     Paho: kPerMessageErrors in paho_client.cpp), or that an MQTT 5
//     broker answers with a failing reason code (PUBACK/PUBREC >= 0x80, except
//     the transient ones), is taken out of the window. Its readings leave the
//     window as if delivered: the cursor passes them, order holds for the rest.
//     Everything else that fails (connection, the client's buffer) ends the session
//     as before (invariant 5). Each kind of refusal is logged once per topic
//     (a bounded set), then counted only. A refusal the client reports after the
//     session ended still dead-letters (Window::retire()).
// 11. A broker may close the connection over one message instead of refusing
//     it (mosquitto's max_packet_size; any MQTT 3.1.1 broker has no other
//     way). With clean_session = true: when two sessions in a row end with the
//     same reading first among the unconfirmed (suspect_), the next ones
//     publish one message at a time (isolating_) until the broker confirms
//     it; three sessions that end within kPoisonWindow of sending it alone
//     dead-letter it. A link that fails on its own costs a few messages sent
//     one by one, never a reading: a dead letter is kept and shown.
//  3. Messages are published in seq order. `cursor_` is the highest seq handed
//     to the client in this session. Rows peeked past it and not yet published wait
//     in `ahead_` (a small QoS 2 window takes a few per confirmation; reading
//     and rendering the rest again each time cost more than publishing); the
//     next peek starts after the last of them. `ahead_` is dropped whenever
//     `cursor_` goes back to 0. A reading evicted from the store (max_age,
//     drop_oldest) while it waits there may still be published once.
//  4. At most mqtt.max_inflight messages are unconfirmed (`inflight_`), and
//     at QoS 1 and 2 at most Window::limit() (the link's need, for a client
//     that prefers a small window: window_sizer.hpp); the client's own limit
//     (MqttConnectOptions::max_inflight) is set above it so the client never
//     refuses or queues on its own.
//  5. When a session ends (connection lost, a delivery failed, a publish
//     threw), everything in flight counts as unconfirmed: `inflight_` is
//     cleared and `cursor_` goes back to 0. Confirmations received so far have
//     been acked, and the store never returns acked rows, so the next session
//     starts with the oldest unconfirmed reading: per topic, readings go out in
//     acquisition order again (duplicates possible, losses not).
//     Exception: with clean_session = false and a CONNACK saying the broker
//     kept the session, `inflight_` and `cursor_` stay: the client resends those
//     messages itself under their packet ids (MQTT 3.1.1 §4.4), so QoS 2
//     stays exactly once and the broker's QoS 2 quota is not exceeded by a
//     second copy. Without the session, the client drops them and we resend. A new
//     process first empties the session an earlier process left behind
//     (clear_stale_session()): its QoS 2 packet ids would swallow ours.
//  6. A confirmation for a message of an earlier session is ignored: that
//     reading was already queued for sending again. At worst a duplicate.
//     So a message is known by the window's own id (MessageId, handed to the
//     client as the CompletionTag), never by its MQTT packet id: packet ids
//     are reused in every session.
//  7. The client calls back on its own thread(s); those callbacks only append to
//     `events_` under `mutex_` and notify. All bookkeeping (inflight_, cursor_,
//     store calls) and every call into the client (publish_stats() too,
//     by way of `events_`) happen on the forwarder thread, which may replace
//     the client before a connect attempt (see connect_session()). The client
//     answers with status values (ConnectResult, MqttStatus), never throws;
//     they become state + last_error on that thread; nothing throws out of it.
//  8. A message carries the readings its encoder grouped (device-json:
//     consecutive readings of one device, one poll's batch being appended
//     contiguously; a point seen twice starts a new message, so a message
//     never holds two polls' values of one point); they are acked together.
//  9. Session hooks (session_hook.hpp) share the session: the status topic
//     (birth, "offline", the will), then the caller's hooks, then the command
//     channel (command_channel.hpp), which takes every message no other hook
//     took. They are told of each connect and serviced by this thread,
//     between publishes.
//
// States (state_, written by the forwarder thread only) and who moves them
//
//   Disconnected ── connect_session() ──► Connecting ── on_connected() ──► Connected
//     ▲     ▲                                  │                           │      │
//     │     └─ connect_session(): failed, ─────┘                           │      │ stop()
//     │        waits the back-off (*)                                      │      ▼
//     └─ lose_session(): connection lost, a delivery or publish failed ◄───┘   Draining
//                                                                              │
//   Stopped ◄── close_session(): "offline", DISCONNECT ◄── drain_session() ◄───┘
//   Stopped ◄── run(): stop() while Disconnected or Connecting
//
// (*) wait_backoff(): the full MQTT connects keep the exponential back-off
//     (reconnect_min × 2^(n-1) up to reconnect_max), but during the wait a
//     bare TCP connect to the broker's port about once a second (port_probe.hpp)
//     ends it early when the port, seen closed, accepts again: a broker back
//     after an outage gets the next connect within about a second, not after
//     the grown delay. If that connect fails too, the next wait is a plain one.
//     stop() ends the wait at once (it only ever waits on cv_).
//
// Logging: one line per state change or change of error, never one per retry.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bridge/command_channel.hpp"
#include "bridge/forwarder.hpp"
#include "bridge/forwarder_pump.hpp"
#include "bridge/forwarder_window.hpp"
#include "bridge/mqtt_client.hpp"
#include "bridge/mqtt_session.hpp"
#include "bridge/session_hook.hpp"

namespace fieldgate::bridge {

class Forwarder::Impl {
 public:
  Impl(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway, Store& store,
       TopicMap topics, ForwarderParts parts);
  ~Impl() { stop(mqtt_.drain_timeout); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start();
  void stop(std::chrono::milliseconds drain);
  void wake();
  void set_topics(TopicMap topics) { pump_.set_topics(std::move(topics)); }
  void publish_stats(const std::string& payload);
  [[nodiscard]] ForwarderStats stats() const;
  [[nodiscard]] const Heartbeat& heartbeat() const noexcept { return heartbeat_; }
  detail::CommandChannel& commands() { return *commands_; }

 private:
  using Clock = std::chrono::steady_clock;
  using milliseconds = std::chrono::milliseconds;
  enum class State { kDisconnected, kConnecting, kConnected, kDraining, kStopped };

  // The client calls this on its own thread: record the outcome, nothing more.
  class DeliverySink final : public CompletionSink {
   public:
    explicit DeliverySink(Impl& impl) : impl_(impl) {}
    void on_published(CompletionTag tag, const Delivery& delivery) noexcept override {
      impl_.on_delivery(tag, delivery);
    }

   private:
    Impl& impl_;
  };

  struct Events : detail::Outcomes {
    bool lost = false;
    std::string lost_cause;
    bool woken = false;
    std::optional<std::string> stats_payload;
  };

  // forwarder.cpp: the thread, its events, serving a session.
  void on_delivery(detail::MessageId id, const Delivery& delivery) noexcept;
  void record_delivery(detail::MessageId id, const Delivery& delivery);
  bool stopping();
  Events take_events();
  bool wait_for_events(milliseconds timeout, std::size_t confirmations = 1);
  bool sleep_unless_stopped(milliseconds delay);
  void set_state(State state);
  void run();
  void serve_session();
  std::string apply_events(const Events& events);
  void publish_stats_now(const std::string& payload);
  void drain_session();

  // forwarder_session.cpp: connect, back-off, hooks, disconnect.
  void new_client();
  bool connect_session();
  std::string clear_stale_session();
  bool on_connected(bool session_present);
  void lose_session(const std::string& reason);
  void close_session();
  void abandon_connect();
  milliseconds backoff_delay(int attempt);
  void wait_backoff(milliseconds delay);

  // Immutable after construction.
  config::MqttConfig mqtt_;
  detail::SessionSettings session_;
  MqttConnectOptions connect_options_;
  std::string stats_topic_;

  // Shared with the client's thread and callers.
  std::mutex mutex_;
  std::condition_variable cv_;
  Events events_;
  std::size_t confirmations_wanted_ = 1;  // wake the forwarder at this many confirmed
  bool stopping_ = false;
  milliseconds drain_{0};
  detail::StatsBox stats_;

  // Forwarder thread only (set_topics() excepted, see Pump).
  detail::Window window_;
  detail::Pump pump_;
  State state_ = State::kDisconnected;
  int consecutive_failures_ = 0;
  bool probe_cut_wait_ = false;         // the last back-off wait ended because the port opened
  bool used_client_ = false;            // client_ has been asked to connect
  bool stale_session_cleared_ = false;  // clean_session = false: see clear_stale_session()
  int barren_sessions_ = 0;  // sessions in a row that ended with messages out, none confirmed
  bool ever_connected_ = false;
  std::chrono::steady_clock::time_point lost_at_;  // when the last session ended
  std::string logged_error_;
  std::mt19937_64 rng_;

  Heartbeat heartbeat_;  // the forwarder thread's promise, for the watchdog
  // In order (invariant 9); fixed after construction, so the client's thread
  // may walk them. commands_ is the last of them.
  std::vector<std::unique_ptr<SessionHook>> hooks_;
  detail::CommandChannel* commands_ = nullptr;
  std::thread thread_;
  DeliverySink deliveries_{*this};
  // Last, so it is destroyed first: no client callback outlives what it uses.
  std::unique_ptr<MqttClient> client_;
};

}  // namespace fieldgate::bridge
