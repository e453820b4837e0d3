// Private to bridge/: what the forwarder needs to open an MQTT session with
// Paho — the broker URI in Paho's spelling, the client id, the password, the
// connect options (TLS, Last Will, MQTT 5 session expiry) — checked once at
// construction, and readable error texts for connect failures.
#pragma once

#include <mqtt/async_client.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "bridge/session_hook.hpp"
#include "config/config.hpp"

namespace fieldgate::bridge::detail {

inline constexpr std::string_view kOnline = "online";
inline constexpr std::string_view kOffline = "offline";

struct SessionSettings {
  std::string uri;  // what Paho accepts: tcp://host:port or ssl://host:port
  std::string host;
  int port = 0;
  bool tls = false;
  std::string client_id;
  std::string status_topic;             // expanded; the stats go to status_topic + "/stats"
  std::optional<std::string> password;  // never logged
  std::string password_source;          // the file it was read from, for messages
  std::string password_warning;         // mqtt.password_file open to others; logged
};

/// Checks `mqtt` and reads the password. Throws std::runtime_error naming the
/// key or file at fault: an address that is not a broker URI, TLS enabled on a
/// plain-text address, an unreadable password, CA, certificate or key file.
[[nodiscard]] SessionSettings make_session_settings(const config::MqttConfig& mqtt,
                                                    const config::GatewayConfig& gateway);

/// The password from mqtt.password_file (first line, line end stripped), or
/// else from $CREDENTIALS_DIRECTORY/<password_credential> when that file
/// exists (systemd LoadCredential=); nullopt when neither applies. `source`
/// receives the path; `warning` a line to log when password_file can be read
/// or written by its group or others (mode & 077), "" otherwise. Each file
/// must be a regular file of at most 64 KiB. Throws std::runtime_error naming
/// the unreadable file and why.
[[nodiscard]] std::optional<std::string> read_password(const config::MqttConfig& mqtt,
                                                       std::string* source,
                                                       std::string* warning = nullptr);

/// Paho connect options for a session: protocol level, clean session (or
/// clean start with MQTT 5), keepalive, timeout, credentials, TLS, the Last
/// Will a session hook contributed (the status hook's retained "offline"),
/// Paho's own in-flight limit above ours, and with MQTT 5 the largest packet
/// the gateway accepts.
[[nodiscard]] mqtt::connect_options make_connect_options(const config::MqttConfig& mqtt,
                                                         const SessionSettings& session,
                                                         const std::optional<SessionMessage>& will);

/// Points `options`' C struct at its own connect properties. Paho C++ 1.2.0
/// (Debian bookworm) copies and moves connect_options without doing so
/// (fixed upstream in 1.3.0, eclipse/paho.mqtt.cpp#426): a copy sends the
/// properties of the object it came from, freed by then — the MQTT 5
/// Session Expiry and Maximum Packet Size were not sent. Call on the
/// connect_options in its final place, before connecting with it.
void bind_connect_properties(mqtt::connect_options& options);

/// The Paho client for the session: no persistence, no sending while
/// disconnected (the store is the buffer). Throws std::runtime_error.
[[nodiscard]] std::unique_ptr<mqtt::async_client> make_client(const config::MqttConfig& mqtt,
                                                              const SessionSettings& session);

/// "250ms", "4.1s": for log lines about retries.
[[nodiscard]] std::string format_delay(std::chrono::milliseconds d);

/// Paho's limits (in-flight messages, queued commands) for our window: above
/// it, for the birth, "offline" and stats messages and the command results'
/// own budget (kResultsInflight), so results never make Paho refuse a reading.
[[nodiscard]] int paho_queue_limit(const config::MqttConfig& mqtt) noexcept;

/// MQTT 5 Maximum Packet Size the gateway announces at connect: 4 ×
/// command_max_size, at least 1 MiB. Commands between the two are answered
/// "rejected"; larger ones the broker does not deliver to the gateway at all.
[[nodiscard]] std::uint32_t maximum_packet_size(const config::MqttConfig& mqtt) noexcept;

/// One line for logs describing the session; the password shows as "***".
[[nodiscard]] std::string describe_session(const config::MqttConfig& mqtt,
                                           const SessionSettings& session);

/// "MQTT 3.1.1" or "MQTT 5".
[[nodiscard]] std::string_view protocol_name(int protocol) noexcept;

/// Why a connect failed, in words: CONNACK codes ("not authorized: bad user
/// name or password"), MQTT 5 reason codes, else Paho's message. A
/// "TCP/TLS connect failure" is refined by probing the broker (refused,
/// unreachable, certificate verify failed: …).
[[nodiscard]] std::string describe_connect_failure(const mqtt::exception& e,
                                                   const config::MqttConfig& mqtt,
                                                   const SessionSettings& session);

/// How long to wait before connect attempt `attempt` (1, 2, …):
/// reconnect_min × 2^(attempt-1), at most reconnect_max, then ±25 % jitter
/// from `unit_random` in [0, 1) (0.5 = none), never above reconnect_max.
[[nodiscard]] std::chrono::milliseconds reconnect_delay(const config::MqttConfig& mqtt, int attempt,
                                                        double unit_random) noexcept;

/// Round up to whole seconds (Paho's unit), at least `min_seconds`.
[[nodiscard]] int to_seconds(std::chrono::milliseconds d, int min_seconds) noexcept;

}  // namespace fieldgate::bridge::detail
