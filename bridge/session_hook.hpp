// The session seam: behaviour tied to the forwarder's MQTT session rather
// than to readings — a Last Will, what to publish and subscribe on each
// connect, what to do with a message on a subscribed topic, what to say
// before a clean disconnect. The status topic (birth, "offline", the will)
// and the command channel are the built-in hooks. Adding one is one file and
// one line (the forwarder's built-ins in Forwarder::Impl's constructor, or
// ForwarderParts::hooks from the caller); see docs/ARCHITECTURE.md.
//
// Threads: on_message() runs on the MQTT client's thread (quick, never
// throws); every other call on the forwarder thread, the only one that calls
// into the client, so a hook may keep per-session state (a sequence number)
// without a lock. Hooks see the client through the seam (mqtt_client.hpp),
// never a library's own types.
#pragma once

#include <optional>
#include <string>

#include "bridge/mqtt_client.hpp"

namespace fieldgate::bridge {

class SessionHook {
 public:
  virtual ~SessionHook() = default;

  /// A connect is about to be attempted (before will() is asked for it).
  virtual void before_connect() {}

  /// The Last Will this hook contributes (MQTT carries one: the first hook
  /// that has one sets it). Asked before every connect: Sparkplug's NDEATH
  /// carries a number that changes per connect.
  [[nodiscard]] virtual std::optional<SessionMessage> will() const { return std::nullopt; }

  /// True while readings must stay in the store although the session is up
  /// (Sparkplug: no birth in force, its primary host offline). Asked before
  /// each round of publishing.
  [[nodiscard]] virtual bool holds_readings() const noexcept { return false; }

  /// The session is up: publish births, reset per-session state. Returns ""
  /// or why the session cannot go on (the forwarder ends it and retries).
  /// Subscriptions may be made here or in service().
  [[nodiscard]] virtual std::string on_connect(MqttClient& client) {
    (void)client;
    return {};
  }

  /// Between publishes while connected: subscribe, publish what is queued.
  /// Logs, never throws.
  virtual void service(MqttClient& client) { (void)client; }

  /// Asked after service(): "" while the session may go on, else why this
  /// hook needs it ended (Sparkplug: its primary host went offline). The
  /// forwarder then disconnects and connects again as after a lost session.
  [[nodiscard]] virtual std::string ends_session() { return {}; }

  /// A message arrived on a subscribed topic (the client's thread). True when
  /// it was this hook's; hooks are asked in order. Never throws.
  [[nodiscard]] virtual bool on_message(const IncomingMessage& message) noexcept {
    (void)message;
    return false;
  }

  /// A clean stop, before the DISCONNECT that tells the broker not to send
  /// the will: publish what the will would have said.
  virtual void on_close(MqttClient& client) { (void)client; }
};

}  // namespace fieldgate::bridge
