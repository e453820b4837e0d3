// Private to bridge/: what the forwarder needs to open an MQTT session — the
// broker URI, the client id, the password, the connect options (TLS, Last
// Will, MQTT 5 session expiry) in the client seam's terms (mqtt_client.hpp) —
// checked once at construction, and the parts of readable connect errors
// that do not depend on the client library.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "bridge/mqtt_client.hpp"
#include "config/config.hpp"

namespace fieldgate::bridge::detail {

inline constexpr std::string_view kOnline = "online";
inline constexpr std::string_view kOffline = "offline";

struct SessionSettings {
  std::string uri;  // tcp://host:port or ssl://host:port (broker_uri()), for logs
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

/// The connect options for a session: protocol level, clean session (or
/// clean start with MQTT 5, and a Session Expiry that never ends when
/// clean_session is false), keepalive, timeout, credentials, TLS, the Last
/// Will a session hook contributed (the status hook's retained "offline"),
/// the client's own in-flight limit above ours, and with MQTT 5 the largest
/// packet the gateway accepts.
[[nodiscard]] MqttConnectOptions make_connect_options(const config::MqttConfig& mqtt,
                                                      const SessionSettings& session,
                                                      const std::optional<SessionMessage>& will);

/// "tcp://host:port" or "ssl://host:port" ("[v6]" for an IPv6 address).
[[nodiscard]] std::string broker_uri(const std::string& host, int port, bool tls);

/// "250ms", "4.1s": for log lines about retries.
[[nodiscard]] std::string format_delay(std::chrono::milliseconds d);

/// The client's own limits (in-flight messages, queued commands; Paho's max
/// in-flight and max buffered) for our window: above it, for the birth,
/// "offline" and stats messages and the command results' own budget
/// (kResultsInflight), so results never make the client refuse a reading.
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

/// CONNACK return codes 1..5 of MQTT 3.1.1 in words; "" for any other.
[[nodiscard]] std::string_view connack_text(int rc) noexcept;

/// What to check after the broker refused the credentials.
[[nodiscard]] std::string credentials_hint(const std::string& username);

/// A client library's "could not connect" (`what`) refined by probing the
/// broker: refused, unreachable, certificate verify failed: …, or a TCP
/// listener that closed the connection before CONNACK (TLS expected?).
[[nodiscard]] std::string explain_transport_failure(const std::string& what,
                                                    const MqttConnectOptions& options);

/// How long to wait before connect attempt `attempt` (1, 2, …):
/// reconnect_min × 2^(attempt-1), at most reconnect_max, then ±25 % jitter
/// from `unit_random` in [0, 1) (0.5 = none), never above reconnect_max.
[[nodiscard]] std::chrono::milliseconds reconnect_delay(const config::MqttConfig& mqtt, int attempt,
                                                        double unit_random) noexcept;

/// Round up to whole seconds (MQTT's unit for the keepalive), at least
/// `min_seconds`.
[[nodiscard]] int to_seconds(std::chrono::milliseconds d, int min_seconds) noexcept;

}  // namespace fieldgate::bridge::detail
