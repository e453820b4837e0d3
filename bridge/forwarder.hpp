// The forwarder: owns the MQTT session (Eclipse Paho C++ async client) and
// moves readings from the store to the broker, deleting them only once the
// broker confirmed them. See the design notes at the top of forwarder_impl.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bridge/commands.hpp"
#include "bridge/payload_encoder.hpp"
#include "bridge/session_hook.hpp"
#include "bridge/store.hpp"
#include "bridge/topics.hpp"
#include "config/config.hpp"
#include "core/heartbeat.hpp"

namespace fieldgate::bridge {

struct ForwarderStats {
  bool connected = false;
  std::uint64_t published = 0;   // messages handed to the client
  std::uint64_t delivered = 0;   // readings confirmed (PUBACK/PUBCOMP, or written for QoS 0)
  std::uint64_t reconnects = 0;  // successful connects after the first
  std::uint64_t connect_failures = 0;
  std::size_t inflight = 0;         // messages published, not yet confirmed
  std::size_t window = 0;           // at most this many at QoS 1 and 2 now (window_sizer.hpp)
  std::string last_error;           // why the last connect or publish failed ("" if none)
  std::size_t command_topics = 0;   // command subscriptions the broker confirmed (this session)
  std::uint64_t dead_lettered = 0;  // readings sent to the dead-letter table (never publishable)
  ResultCounts results;             // command results published and dropped
};

/// What the forwarder is extended with, built at start-up: the payload
/// encoders by format name (payload_encoder.hpp), and session hooks
/// (session_hook.hpp) besides the built-in status topic and command channel.
struct ForwarderParts {
  EncoderRegistry encoders = make_default_encoders();
  std::vector<std::unique_ptr<SessionHook>> hooks;  // asked after the status hook, in order
  /// The built-in status topic (birth, "offline", its will). Off when a hook
  /// of `hooks` brings its own will (Sparkplug's NDEATH).
  bool status_hook = true;
};

class Forwarder {
 public:
  /// Validates the settings (and reads the password) at construction, and
  /// that `parts` has an encoder for every payload format `topics` names;
  /// throws std::runtime_error with a clear reason. Does not connect yet.
  Forwarder(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway, Store& store,
            TopicMap topics, ForwarderParts parts = {});
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  /// Starts the forwarding thread: connect (with back-off and jitter), publish
  /// the retained birth message, drain the store, reconnect when lost.
  void start();

  /// Stops taking new readings from the store, waits up to `drain` for
  /// outstanding acknowledgements, publishes the retained "offline" status,
  /// disconnects and joins. Unconfirmed readings stay in the store.
  void stop(std::chrono::milliseconds drain);

  /// New readings were committed (from the store's commit listener).
  void wake();

  /// Replaces the topic map (config reload); applies to the next publish.
  void set_topics(TopicMap topics);

  /// Publishes `payload` (JSON) on "<status_topic>/stats", QoS 0, not retained,
  /// if connected. Thread-safe.
  void publish_stats(const std::string& payload);

  [[nodiscard]] ForwarderStats stats() const;

  /// The forwarder thread's progress, for the systemd watchdog: overdue when
  /// it is stuck (in a store call, in Paho), never while it waits by design.
  [[nodiscard]] const Heartbeat& heartbeat() const noexcept;

  /// Receives every message on a command topic (on Paho's thread). Set before start().
  void set_command_handler(CommandHandler handler);

  /// The command topics to subscribe, at `qos`: subscribed at every connect
  /// (a clean session forgets them); a topic no longer listed is unsubscribed.
  /// Thread-safe.
  void set_command_topics(std::vector<std::string> topics, int qos);

  /// Publishes a command's result (not retained) if connected; otherwise, if
  /// the result queue is full, or if the session ends first, it is dropped and
  /// counted (stats().results): results are never buffered. Thread-safe.
  void publish_result(std::string topic, std::string payload, int qos);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// Paho's global set-up for a process whose only MQTT client is the
/// Forwarder's (`fieldgate run`): OpenSSL is left to initialise itself when a
/// TLS connection first needs it (OpenSSL >= 1.1 does), instead of Paho's
/// initialisation of every algorithm and error string, which touches 1.3 MB
/// of libcrypto even for a tcp:// broker. Call once, before any Paho client
/// exists: it reruns Paho's own initialisation (its mutexes and condition
/// variables), and clients already running lose wake-ups.
void init_mqtt_library();

}  // namespace fieldgate::bridge
