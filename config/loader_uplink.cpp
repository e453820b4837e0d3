#include "config/loader_uplink.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/bounds.hpp"
#include "config/broker_address.hpp"
#include "config/schema.hpp"
#include "config/topic_template.hpp"
#include "config/units.hpp"

namespace fieldgate::config {
namespace {

using std::chrono::seconds;

constexpr std::size_t kMaxClientIdBytes = bounds::kMaxMqttStringBytes;
constexpr Duration kMaxKeepalive = bounds::kKeepalive.max;  // a 16-bit number of seconds

std::optional<std::string> topic_template(Section& s, std::string_view key, TopicScope scope) {
  auto text = s.string(key);
  if (!text) return text;
  const std::string problem = validate_topic_template(*text, scope);
  if (!problem.empty()) {
    s.report(key, fmt::format("topic template {} {}", quote(*text), problem));
    return std::nullopt;
  }
  return text;
}

std::optional<int> qos(Section& s) {
  const auto value = s.integer("qos", 0, 2);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

// Protocol levels are easily written as numbers; say which string is meant.
std::optional<int> protocol(Section& s) {
  const toml::node* node = s.find("protocol");
  if (node != nullptr && node->is_integer()) {
    const std::int64_t level = node->as_integer()->get();
    std::string message =
        fmt::format("expected one of {}; got {}", fmt::join(kMqttProtocols, ", "), describe(*node));
    if (level == 4) message += " (protocol level 4 is MQTT 3.1.1: write \"3.1.1\", in quotes)";
    if (level == 5) message += " (write \"5\", in quotes)";
    s.report("protocol", std::move(message));
    return std::nullopt;
  }
  const auto index = s.one_of("protocol", kMqttProtocols);
  if (!index) return std::nullopt;
  return kMqttProtocolLevels[*index];
}

// MQTT sends the keep-alive as a 16-bit number of seconds; 0 turns it off.
std::optional<Duration> keepalive(Section& s) {
  // Bounded just below, with a message that says "whole seconds".
  const auto value = s.duration("keepalive", {bounds::kZero, Duration::max()});
  if (!value) return value;
  if (value->count() != 0 && (*value % seconds{1} != Duration{0} || *value > kMaxKeepalive)) {
    s.report("keepalive",
             fmt::format("expected \"0s\" (off) or whole seconds from \"1s\" to {}, got {}",
                         quote(format_duration(kMaxKeepalive)),
                         quote(s.string("keepalive").value_or(""))));
    return std::nullopt;
  }
  return value;
}

// The name of a file in $CREDENTIALS_DIRECTORY, never a path.
std::optional<std::string> credential_name(Section& s, std::string_view key) {
  auto name = s.non_empty_string(key, Need::kOptional);
  if (name && (name->find('/') != std::string::npos || *name == "." || *name == "..")) {
    s.report(key, fmt::format("expected a credential name (a file name without \"/\"), got {}",
                              quote(*name)));
    return std::nullopt;
  }
  return name;
}

// A broker address is quoted in messages, but never a password in it:
// "tcp://user:pw@host" is shown as "tcp://***@host".
std::string redact_userinfo(std::string_view broker) {
  const std::size_t start = broker.find("://");
  const std::size_t at = broker.rfind('@');
  if (start == std::string_view::npos || at == std::string_view::npos || at < start) {
    return std::string(broker);
  }
  return fmt::format("{}***{}", broker.substr(0, start + 3), broker.substr(at));
}

// What the broker address says about TLS; kUnknown when it was invalid
// (reported already, so nothing depends on it).
enum class BrokerTls { kNo, kYes, kUnknown };

// [mqtt.tls].
TlsConfig read_tls(Section& mqtt, const toml::table& table, BrokerTls broker_tls,
                   const std::string& broker) {
  Section s = mqtt.child(table, "tls", kTlsKeys);
  TlsConfig tls;
  assign(tls.ca_file, s.non_empty_string("ca_file", Need::kOptional));
  assign(tls.cert_file, s.non_empty_string("cert_file", Need::kOptional));
  assign(tls.key_file, s.non_empty_string("key_file", Need::kOptional));
  assign(tls.verify_hostname, s.boolean("verify_hostname"));
  s.check_unknown_keys();

  // A certificate without its key (or the reverse) cannot authenticate.
  if (s.has("cert_file") && !s.has("key_file")) {
    s.report("cert_file", "cert_file and key_file must be given together; key_file is missing");
  }
  if (s.has("key_file") && !s.has("cert_file")) {
    s.report("key_file", "cert_file and key_file must be given together; cert_file is missing");
  }
  if (broker_tls == BrokerTls::kNo) {
    mqtt.report("tls", fmt::format("a [mqtt.tls] table needs a TLS connection: use ssl:// or "
                                   "mqtts:// in mqtt.broker, not {}{}",
                                   quote(broker), mqtt.has("broker") ? "" : " (the default)"));
  }
  return tls;
}

// `payload = "..."`: one of the formats the program registered, resolved to
// its name and whether it publishes one message per device poll.
std::optional<PayloadFormat> payload_format(Section& s, const SchemaCatalog& catalog) {
  const std::vector<std::string_view> names = catalog.format_names();
  const auto index = s.one_of("payload", names);
  if (!index) return std::nullopt;
  return *catalog.find_format(names[*index]);
}

}  // namespace

StoreConfig read_store(Section& s) {
  StoreConfig c;
  c.pos = s.pos();
  assign(c.path, s.non_empty_string("path", Need::kOptional));
  assign(c.durability, s.choice("durability", kDurabilities));
  assign(c.commit_interval, s.duration("commit_interval", bounds::kCommitInterval));
  assign(c.commit_batch, s.integer("commit_batch", 1, 1'000'000));
  assign(c.max_bytes, s.size("max_bytes", bounds::kMaxBytes));
  assign(c.max_rows, s.integer("max_rows", 1, bounds::kMaxRows));
  assign(c.max_age, s.duration("max_age", bounds::kMaxAge));
  assign(c.overflow, s.choice("overflow", kOverflows));
  assign(c.mode, s.choice("mode", kStoreModes));
  assign(c.spill_after, s.duration("spill_after", bounds::kSpillAfter));
  assign(c.spill_memory, s.size("spill_memory", bounds::kSpillMemory));
  s.check_unknown_keys();
  return c;
}

MqttConfig read_mqtt(Section& s, const SchemaCatalog& catalog) {
  MqttConfig m;
  m.pos = s.pos();
  assign(m.client, s.choice("client", kMqttClients));
  BrokerTls broker_tls = BrokerTls::kNo;  // the default broker is tcp://
  if (const auto broker = s.string("broker")) {
    const Parsed<BrokerAddress> address = parse_broker_address(*broker);
    if (address) {
      m.broker = *broker;
      m.tls_enabled = address.value->tls;
      broker_tls = address.value->tls ? BrokerTls::kYes : BrokerTls::kNo;
    } else {
      s.report("broker", fmt::format("expected a broker address such as \"tcp://host:1883\" or "
                                     "\"ssl://host:8883\", got {} ({})",
                                     quote(redact_userinfo(*broker)), address.error));
      broker_tls = BrokerTls::kUnknown;
    }
  } else if (s.has("broker")) {
    broker_tls = BrokerTls::kUnknown;
  }

  const auto client_id = s.string("client_id");
  if (client_id && client_id->size() > kMaxClientIdBytes) {
    s.report("client_id", fmt::format("expected at most {} bytes, got {}", kMaxClientIdBytes,
                                      client_id->size()));
  } else {
    assign(m.client_id, client_id);
  }
  const auto level = protocol(s);
  assign(m.protocol, level);
  assign(m.keepalive, keepalive(s));
  assign(m.clean_session, s.boolean("clean_session"));
  assign(m.connect_timeout, s.duration("connect_timeout", bounds::kConnectTimeout));

  const auto username = s.bounded_string("username", bounds::kMaxMqttStringBytes);
  assign(m.username, username);
  const auto password_file = s.non_empty_string("password_file", Need::kOptional);
  assign(m.password_file, password_file);
  assign(m.password_credential, credential_name(s, "password_credential"));
  s.forbid("password",
           fmt::format("not allowed: a secret does not belong in the configuration file (use "
                       "password_file, or the systemd credential {})",
                       quote(m.password_credential)));
  // MQTT 3.1.1 [MQTT-3.1.2-22]: no password without a user name.
  if (password_file && !s.has("username") && m.protocol == 4 && (level || !s.has("protocol"))) {
    s.report("password_file",
             "needs username as well (MQTT 3.1.1 sends a password only with a "
             "user name)");
  }

  if (const toml::table* tls = s.table("tls", "[mqtt.tls]")) {
    m.tls = read_tls(s, *tls, broker_tls, m.broker);
  }

  assign(m.max_inflight, s.integer("max_inflight", 1, 65535));
  assign(m.max_inflight_qos2, s.integer("max_inflight_qos2", 1, 65535));
  assign(m.max_payload, s.size("max_payload", bounds::kMaxPayload));
  const auto reconnect_min = s.duration("reconnect_min", bounds::kReconnect);
  const auto reconnect_max = s.duration("reconnect_max", bounds::kReconnect);
  assign(m.reconnect_min, reconnect_min);
  assign(m.reconnect_max, reconnect_max);
  const bool both_known =
      (reconnect_min || !s.has("reconnect_min")) && (reconnect_max || !s.has("reconnect_max"));
  if (both_known && m.reconnect_min > m.reconnect_max) {
    if (s.has("reconnect_max")) {
      s.report("reconnect_max",
               fmt::format("expected a duration of at least reconnect_min ({}), got {}",
                           quote(format_duration(m.reconnect_min)),
                           quote(format_duration(m.reconnect_max))));
    } else {
      s.report("reconnect_min",
               fmt::format("expected a duration of at most reconnect_max ({}, the default), got {}",
                           quote(format_duration(m.reconnect_max)),
                           quote(format_duration(m.reconnect_min))));
    }
  }
  assign(m.drain_timeout, s.duration("drain_timeout", bounds::kDrainTimeout));

  assign(m.topic, topic_template(s, "topic", TopicScope::kPoint));
  assign(m.device_topic, topic_template(s, "device_topic", TopicScope::kDevice));
  assign(m.status_topic, topic_template(s, "status_topic", TopicScope::kGateway));
  assign(m.availability_topic, topic_template(s, "availability_topic", TopicScope::kDevice));
  assign(m.status_interval, s.duration("status_interval", bounds::kStatusInterval));
  assign(m.qos, qos(s));
  assign(m.retain, s.boolean("retain"));
  assign(m.payload, payload_format(s, catalog));
  assign(m.command_qos, s.integer("command_qos", 0, 2));
  assign(m.command_max_age, s.duration("command_max_age", bounds::kCommandMaxAge));
  assign(m.command_max_size, s.size("command_max_size", bounds::kCommandMaxSize));
  assign(m.command_suffix, s.name("command_suffix", Need::kOptional));
  assign(m.result_suffix, s.name("result_suffix", Need::kOptional));
  s.check_unknown_keys();
  return m;
}

void read_device_uplink(Section& s, const SchemaCatalog& catalog, DeviceConfig& device) {
  device.topic = topic_template(s, "topic", TopicScope::kPoint);
  device.device_topic = topic_template(s, "device_topic", TopicScope::kDevice);
  device.qos = qos(s);
  device.retain = s.boolean("retain");
  device.payload = payload_format(s, catalog);
}

void read_point_uplink(Section& s, PointConfig& point) {
  point.topic = topic_template(s, "topic", TopicScope::kPoint);
  point.qos = qos(s);
  point.retain = s.boolean("retain");
}

}  // namespace fieldgate::config
