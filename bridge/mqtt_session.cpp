#include "bridge/mqtt_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "bridge/command_channel.hpp"
#include "bridge/forwarder.hpp"
#include "bridge/tls_probe.hpp"
#include "config/broker_address.hpp"
#include "config/file_read.hpp"
#include "config/topic_template.hpp"

namespace fieldgate::bridge::detail {
namespace {

// Room above our own window for the birth, "offline" and stats messages
// (and the subscription requests).
constexpr int kPahoInflightHeadroom = 16;
// Room for the command results (command_channel.hpp): their own budget.
constexpr int kPahoLimitAboveWindow = kPahoInflightHeadroom + kResultsInflight;
// MQTT 5: the largest packet the broker may send us. Commands up to
// command_max_size are answered ("rejected" above it); far larger ones are
// not even sent to the gateway.
constexpr std::uint64_t kMinMaximumPacketSize = 1024 * 1024;
constexpr std::uint64_t kMaximumPacketSizeFactor = 4;
// MQTT 5 session expiry for clean_session = false: keep it like MQTT 3.1.1 does.
constexpr std::uint32_t kSessionNeverExpires = 0xFFFFFFFF;

// Secrets and TLS files come from outside: a FIFO would block start-up (and
// SIGTERM) forever, /dev/zero would fill memory. config/file_read.hpp opens
// without blocking and takes only a regular file of bounded size.
std::string read_first_line(const std::string& path, std::string_view key, mode_t* mode) {
  const config::FileRead file = config::read_regular_file(path, config::kMaxSecretBytes);
  if (!file.error.empty()) {
    throw std::runtime_error(fmt::format("{}: cannot read {}: {}", key, path, file.error));
  }
  if (mode != nullptr) *mode = file.mode;
  std::string line = file.text.substr(0, file.text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

void require_readable(const std::string& path, std::string_view key) {
  if (path.empty()) return;
  const config::FileCheck file = config::check_regular_file(path, config::kMaxTlsFileBytes);
  if (!file.error.empty()) {
    throw std::runtime_error(fmt::format("{}: cannot read {}: {}", key, path, file.error));
  }
}

// As ssh does for a private key: a password file others can read (or write)
// is worth a warning, not a refusal. Files in $CREDENTIALS_DIRECTORY are left
// alone: systemd writes them 0400 and, when the service runs as another user,
// grants read access with an ACL entry, which shows as the group bits (0440).
std::string password_mode_warning(const std::string& path, mode_t mode) {
  if ((mode & 077) == 0) return {};
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (credentials != nullptr && *credentials != '\0') {
    const std::filesystem::path dir = std::filesystem::path(credentials).lexically_normal();
    const auto rel = std::filesystem::path(path).lexically_normal().lexically_relative(dir);
    if (!rel.empty() && *rel.begin() != "..") return {};
  }
  const bool group = (mode & 070) != 0;
  const bool others = (mode & 007) != 0;
  return fmt::format(
      "mqtt.password_file {} has mode {:04o}: {} can read or change it; only its owner "
      "should (chmod 600 {})",
      path, mode,
      group && others ? "its group and others"
      : group         ? "its group"
                      : "others",
      path);
}

}  // namespace

std::string_view connack_text(int rc) noexcept {
  switch (rc) {
    case 1:
      return "unacceptable protocol version";
    case 2:
      return "client identifier rejected";
    case 3:
      return "server unavailable";
    case 4:
      return "bad user name or password";
    case 5:
      return "not authorized";
    default:
      return "";
  }
}

std::string credentials_hint(const std::string& username) {
  return username.empty() ? "the broker may require mqtt.username and a password"
                          : "check mqtt.username and the password";
}

std::string explain_transport_failure(const std::string& what, const MqttConnectOptions& options) {
  // "TCP/TLS connect failure" covers refused, unreachable and every TLS
  // problem alike: find out which one.
  const std::string probe =
      probe_connection(options.host, options.port, options.tls ? &options.tls_files : nullptr,
                       std::min(options.connect_timeout, std::chrono::milliseconds{5000}));
  if (!probe.empty()) return probe;
  if (!options.tls) {
    // TCP works, MQTT does not: most often a TLS-only listener.
    return what +
           " (the broker accepts TCP but closed the connection before CONNACK; if it "
           "expects TLS, use mqtts://)";
  }
  return what;
}

std::string broker_uri(const std::string& host, int port, bool tls) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", tls ? "ssl" : "tcp", ipv6 ? "[" : "", host, ipv6 ? "]" : "",
                     port);
}

std::optional<std::string> read_password(const config::MqttConfig& mqtt, std::string* source,
                                         std::string* warning) {
  if (warning) warning->clear();
  if (!mqtt.password_file.empty()) {
    if (source) *source = mqtt.password_file;
    mode_t mode = 0;
    auto password = read_first_line(mqtt.password_file, "mqtt.password_file", &mode);
    if (warning) *warning = password_mode_warning(mqtt.password_file, mode);
    return password;
  }
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0' || mqtt.password_credential.empty()) return std::nullopt;
  const auto path = std::filesystem::path(dir) / mqtt.password_credential;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  // The packaged unit sets an empty default (SetCredential=) so that a
  // missing password file does not stop the service: empty means no password.
  auto password = read_first_line(path.string(), "mqtt.password_credential", nullptr);
  if (password.empty()) return std::nullopt;
  if (source) *source = path.string();
  return password;
}

SessionSettings make_session_settings(const config::MqttConfig& mqtt,
                                      const config::GatewayConfig& gateway) {
  SessionSettings s;
  const auto address = config::parse_broker_address(mqtt.broker);
  if (!address) {
    throw std::runtime_error(fmt::format("mqtt.broker \"{}\": {}", mqtt.broker, address.error));
  }
  s.host = address.value->host;
  s.port = address.value->port;
  s.tls = address.value->tls;
  if (mqtt.tls_enabled && !s.tls) {
    // Never fall back to plain text when TLS was asked for.
    throw std::runtime_error(fmt::format(
        "mqtt.broker \"{}\" is a plain-text address but TLS is enabled; use mqtts:// or ssl://",
        mqtt.broker));
  }
  s.uri = broker_uri(s.host, s.port, s.tls);
  s.client_id = mqtt.client_id.empty() ? "fieldgate-" + gateway.name : mqtt.client_id;
  s.status_topic = config::expand_topic_template(
      mqtt.status_topic, config::TopicVars{gateway.name, gateway.site, {}, {}, {}});
  if (mqtt.protocol != 4 && mqtt.protocol != 5) {
    throw std::runtime_error(
        fmt::format("mqtt.protocol: expected 4 (3.1.1) or 5, got {}", mqtt.protocol));
  }
  if (mqtt.max_inflight < 1 || mqtt.max_inflight > 65535 - kPahoLimitAboveWindow) {
    throw std::runtime_error(fmt::format("mqtt.max_inflight: expected 1..{}, got {}",
                                         65535 - kPahoLimitAboveWindow, mqtt.max_inflight));
  }
  if (s.tls) {
    require_readable(mqtt.tls.ca_file, "mqtt.tls.ca_file");
    require_readable(mqtt.tls.cert_file, "mqtt.tls.cert_file");
    require_readable(mqtt.tls.key_file, "mqtt.tls.key_file");
    if (mqtt.tls.cert_file.empty() != mqtt.tls.key_file.empty()) {
      throw std::runtime_error("mqtt.tls: cert_file and key_file go together");
    }
  }
  s.password = read_password(mqtt, &s.password_source, &s.password_warning);
  if (!s.password_warning.empty()) spdlog::warn("{}", s.password_warning);
  if (s.password && mqtt.username.empty()) {
    throw std::runtime_error(fmt::format(
        "mqtt: a password is given ({}) but mqtt.username is empty", s.password_source));
  }
  return s;
}

std::string format_delay(std::chrono::milliseconds d) {
  if (d < std::chrono::milliseconds(1000)) return fmt::format("{}ms", d.count());
  return fmt::format("{:.1f}s", static_cast<double>(d.count()) / 1000.0);
}

MqttConnectOptions make_connect_options(const config::MqttConfig& mqtt,
                                        const SessionSettings& session,
                                        const std::optional<SessionMessage>& will) {
  MqttConnectOptions o;
  o.host = session.host;
  o.port = session.port;
  o.tls = session.tls;
  if (session.tls) o.tls_files = mqtt.tls;  // the chain is always verified
  o.client_id = session.client_id;
  o.username = mqtt.username;
  o.password = session.password;
  o.protocol = mqtt.protocol;
  o.clean_session = mqtt.clean_session;
  if (mqtt.protocol == 5) {
    o.maximum_packet_size = maximum_packet_size(mqtt);
    // Without a Session Expiry the MQTT 5 session ends with the connection,
    // which is what clean_session = true means; false keeps it like 3.1.1.
    if (!mqtt.clean_session) o.session_expiry = kSessionNeverExpires;
  }
  o.keepalive = std::chrono::seconds(to_seconds(mqtt.keepalive, 0));
  o.connect_timeout = mqtt.connect_timeout;
  o.will = will;
  o.max_inflight = paho_queue_limit(mqtt);
  return o;
}

int paho_queue_limit(const config::MqttConfig& mqtt) noexcept {
  return mqtt.max_inflight + kPahoLimitAboveWindow;
}

std::uint32_t maximum_packet_size(const config::MqttConfig& mqtt) noexcept {
  const std::uint64_t size =
      std::max(kMinMaximumPacketSize, mqtt.command_max_size * kMaximumPacketSizeFactor);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(size, 0xFFFFFFFFu));
}

std::string describe_session(const config::MqttConfig& mqtt, const SessionSettings& session) {
  std::string tls = "no TLS";
  if (session.tls) {
    tls =
        fmt::format("TLS (CA {}{}{})", mqtt.tls.ca_file.empty() ? "system store" : mqtt.tls.ca_file,
                    mqtt.tls.cert_file.empty() ? "" : ", client certificate " + mqtt.tls.cert_file,
                    mqtt.tls.verify_hostname ? "" : ", hostname not verified");
  }
  return fmt::format(
      "{} as {} ({}, {} {}, keepalive {}s, user {}, password {}, {}, window {}, client {})",
      session.uri, session.client_id, protocol_name(mqtt.protocol),
      mqtt.protocol == 5 ? "clean start" : "clean session", mqtt.clean_session ? "on" : "off",
      to_seconds(mqtt.keepalive, 0), mqtt.username.empty() ? "-" : mqtt.username,
      session.password ? "***" : "-", tls, mqtt.max_inflight, config::to_string(mqtt.client));
}

std::string_view protocol_name(int protocol) noexcept {
  return protocol == 5 ? "MQTT 5" : "MQTT 3.1.1";
}

std::chrono::milliseconds reconnect_delay(const config::MqttConfig& mqtt, int attempt,
                                          double unit_random) noexcept {
  constexpr double kJitter = 0.25;  // spreads gateways that lost the broker together
  const double min_ms = static_cast<double>(std::max<std::int64_t>(mqtt.reconnect_min.count(), 1));
  const double max_ms = std::max(min_ms, static_cast<double>(mqtt.reconnect_max.count()));
  const double base = std::min(max_ms, min_ms * std::pow(2.0, std::clamp(attempt - 1, 0, 30)));
  const double jittered = base * (1.0 - kJitter + 2.0 * kJitter * unit_random);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::clamp(jittered, 1.0, max_ms)));
}

int to_seconds(std::chrono::milliseconds d, int min_seconds) noexcept {
  const auto secs = (d.count() + 999) / 1000;
  return static_cast<int>(std::clamp<std::int64_t>(secs, min_seconds, 65535));
}

}  // namespace fieldgate::bridge::detail
