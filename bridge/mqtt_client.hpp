// The MQTT client seam: what the forwarder, its window and pump, and the
// session hooks need from an MQTT client library — connect (TLS, the will,
// MQTT 3.1.1 or 5), publish with a completion report, subscribe, disconnect,
// and callbacks for a lost connection and an arriving message — in our own
// types, so that no library type reaches them. Two implementations, chosen by
// `[mqtt] client` in make_mqtt_client(): Paho C++ (paho_client.cpp, the
// default) and libmosquitto 2.0 (mosquitto_client.cpp). What the second one
// had to respect: each mid maps to (sink, tag) under a lock held across
// mosquitto_publish_v5 (the PUBACK may arrive on the loop thread before the
// call returns); mosquitto's rc MOSQ_ERR_INVALID, MOSQ_ERR_MALFORMED_UTF8,
// MOSQ_ERR_PAYLOAD_SIZE and MOSQ_ERR_OVERSIZE_PACKET are kMessageRefused, the
// others kSessionBroken; the CONNACK's session present is bit 0 of
// on_connect_v5's flags; an on_disconnect that we did not ask for is
// connection_lost, and libmosquitto's own loop thread would reconnect by
// itself, so the client runs the network loop on a thread of its own.
//
// Threads: every call into a client comes from one thread (the forwarder's).
// Completions and the two callbacks run on the client's own thread(s): they
// must be quick and never throw (they are noexcept).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace fieldgate::bridge {

/// A message to publish (also a hook's Last Will).
struct SessionMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
};

/// A message that arrived on a subscribed topic.
struct IncomingMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
  std::optional<std::chrono::seconds> expiry;  // MQTT 5 Message Expiry Interval, if sent
};

/// Everything a connect needs, in our words (mqtt_session.hpp builds it from
/// [mqtt]).
struct MqttConnectOptions {
  std::string host;
  int port = 1883;
  bool tls = false;
  config::TlsConfig tls_files;  // when `tls`: CA, client certificate and key, hostname check
  std::string client_id;
  std::string username;                 // "" = none
  std::optional<std::string> password;  // never logged
  int protocol = 4;                     // 4 = MQTT 3.1.1, 5 = MQTT 5
  bool clean_session = true;            // MQTT 5: Clean Start
  /// MQTT 5 Session Expiry Interval (0xFFFFFFFF: never); none: the session
  /// ends with the connection.
  std::optional<std::uint32_t> session_expiry;
  /// MQTT 5 Maximum Packet Size the client accepts; none: not announced.
  std::optional<std::uint32_t> maximum_packet_size;
  std::chrono::seconds keepalive{30};
  std::chrono::milliseconds connect_timeout{10000};
  std::optional<SessionMessage> will;
  /// The client's own limit of unconfirmed and queued messages; set above the
  /// forwarder's window so that the client never refuses or queues on its own.
  int max_inflight = 1000;
};

/// How a connect ended.
struct ConnectResult {
  bool connected = false;
  bool session_present = false;  // CONNACK: the broker kept the session
  bool cancelled = false;        // `give_up` said so before the CONNACK
  std::string error;             // why not, in words ("" when connected or cancelled)
};

/// What publish() and subscribe() said at once. A message error concerns that
/// message only (retrying it fails the same way: dead-letter it); a session
/// error means the session is broken.
struct MqttStatus {
  enum class Kind { kOk, kMessageRefused, kSessionBroken };
  Kind kind = Kind::kOk;
  std::string error;
  [[nodiscard]] bool ok() const noexcept { return kind == Kind::kOk; }
};

/// Chosen by the caller, reported back with the completion. Not the MQTT
/// packet id: packet ids are reused across sessions, and a late completion
/// of an earlier session must not be taken for one of this session's.
using CompletionTag = std::uintptr_t;

/// The outcome of one published message.
struct Delivery {
  bool delivered = false;  // PUBACK (QoS 1), PUBCOMP (QoS 2), written (QoS 0)
  int reason_code = 0;     // MQTT 5 reason code of a failing PUBACK/PUBREC; 0: none
  std::string error;       // when not delivered: the reason code's name, or the client's error
};

/// The outcome of one subscribe() or unsubscribe() request.
struct SubscribeOutcome {
  bool unsubscribe = false;
  bool ok = false;
  std::size_t topics = 0;   // in the request
  std::size_t granted = 0;  // of those, not refused by the broker (SUBACK 0x80 and above)
  std::string error;        // when not ok
};

/// Receives completions on the client's thread. Quick; never throws.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  virtual void on_published(CompletionTag tag, const Delivery& delivery) noexcept {
    (void)tag;
    (void)delivery;
  }
  virtual void on_subscribed(CompletionTag tag, const SubscribeOutcome& outcome) noexcept {
    (void)tag;
    (void)outcome;
  }
};

/// What a client calls back on its own thread, set when it is made.
struct MqttCallbacks {
  std::function<void(const std::string& cause)> connection_lost;
  std::function<void(const IncomingMessage& message)> message_arrived;
};

/// One MQTT client: no persistence, no offline buffering, no automatic
/// reconnect (the store is the buffer; the forwarder reconnects). Nothing
/// here throws once the client exists.
class MqttClient {
 public:
  virtual ~MqttClient() = default;

  /// Connects and waits for the CONNACK, up to `wait`, asking `give_up`
  /// about every 100 ms (the forwarder's stop). Blocks the caller.
  [[nodiscard]] virtual ConnectResult connect(const MqttConnectOptions& options,
                                              std::chrono::milliseconds wait,
                                              const std::function<bool()>& give_up) = 0;

  /// Hands a message to the client. Its outcome goes to `sink` with `tag`
  /// (nothing is reported when `sink` is null), unless the status is not ok.
  [[nodiscard]] virtual MqttStatus publish(SessionMessage message, CompletionSink* sink = nullptr,
                                           CompletionTag tag = 0) = 0;

  /// Publishes and waits up to `wait` for the outcome; true when delivered.
  virtual bool publish_and_wait(SessionMessage message, std::chrono::milliseconds wait) = 0;

  /// Subscribes `topics` at `qos`; the SUBACK goes to `sink` with `tag`.
  [[nodiscard]] virtual MqttStatus subscribe(const std::vector<std::string>& topics, int qos,
                                             CompletionSink* sink = nullptr,
                                             CompletionTag tag = 0) = 0;
  /// Unsubscribes `topics`; the UNSUBACK goes to `sink` with `tag`.
  [[nodiscard]] virtual MqttStatus unsubscribe(const std::vector<std::string>& topics,
                                               CompletionSink* sink = nullptr,
                                               CompletionTag tag = 0) = 0;

  /// Sends DISCONNECT (the broker drops the will), letting the client finish
  /// what is in flight for up to `quiesce`; returns within quiesce or 2 s,
  /// whichever is longer. Does nothing when not connected.
  virtual void disconnect(std::chrono::milliseconds quiesce) = 0;

  [[nodiscard]] virtual bool is_connected() const = 0;

  /// A burst of publish() calls lies between these two (the forwarder's
  /// refill of its window): a client may hold their packets until the end,
  /// to wake its network thread once instead of for every message. Nothing
  /// may wait for a completion inside a burst. Default: nothing held.
  virtual void begin_burst() {}
  virtual void end_burst() {}

  /// Whether the client's cost per message grows with the messages it has
  /// unconfirmed, so that the forwarder should keep no more in flight than
  /// the link needs (window_sizer.hpp). libmosquitto walks its list of them
  /// on every publish and acknowledgement; Paho's cost is in waking its
  /// threads, which a smaller window does more often. Default: no.
  [[nodiscard]] virtual bool prefers_small_window() const noexcept { return false; }
};

/// begin_burst() and end_burst() of `client` around a scope.
class PublishBurst {
 public:
  explicit PublishBurst(MqttClient& client) : client_(client) { client_.begin_burst(); }
  ~PublishBurst() { client_.end_burst(); }
  PublishBurst(const PublishBurst&) = delete;
  PublishBurst& operator=(const PublishBurst&) = delete;

 private:
  MqttClient& client_;
};

namespace detail {

/// The client `[mqtt] client` asks for (Paho or libmosquitto), with `options`' identity and
/// limits. Throws std::runtime_error when it cannot be made (a URI the
/// library rejects).
[[nodiscard]] std::unique_ptr<MqttClient> make_mqtt_client(const config::MqttConfig& mqtt,
                                                           const MqttConnectOptions& options,
                                                           MqttCallbacks callbacks);

}  // namespace detail
}  // namespace fieldgate::bridge
