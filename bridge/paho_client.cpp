// The MQTT client seam on Eclipse Paho C++: connect options in Paho's terms,
// its tokens and listeners turned into the seam's completions, its
// exceptions into status values (nothing throws out of a steady-state call).
#include "bridge/paho_client.hpp"

#include <MQTTAsync.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <unordered_map>
#include <utility>

#include "bridge/forwarder.hpp"
#include "bridge/mqtt_session.hpp"
#include "bridge/tls_probe.hpp"

namespace fieldgate::bridge::detail {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kConnectPoll{100};
constexpr milliseconds kDisconnectWait{2000};

// Paho's publish() errors that concern the message, not the session
// (invariant 10 in forwarder_impl.hpp): retrying it, in this session or the
// next, fails the same way.
constexpr std::array kPerMessageErrors = {MQTTASYNC_BAD_UTF8_STRING, MQTTASYNC_NULL_PARAMETER,
                                          MQTTASYNC_TOPICNAME_TRUNCATED, MQTTASYNC_BAD_STRUCTURE,
                                          MQTTASYNC_BAD_QOS};

MqttStatus status_of(const mqtt::exception& e) {
  const int rc = e.get_return_code();
  const bool message =
      std::find(kPerMessageErrors.begin(), kPerMessageErrors.end(), rc) != kPerMessageErrors.end();
  return {message ? MqttStatus::Kind::kMessageRefused : MqttStatus::Kind::kSessionBroken, e.what()};
}

// The Paho message as the seam's. Throws (bad_alloc): the caller catches.
IncomingMessage incoming(const mqtt::const_message_ptr& message) {
  IncomingMessage in;
  in.topic = message->get_topic();
  in.payload = message->to_string();
  in.qos = message->get_qos();
  in.retained = message->is_retained();
  const mqtt::properties& props = message->get_properties();
  if (props.contains(mqtt::property::MESSAGE_EXPIRY_INTERVAL)) {
    in.expiry = std::chrono::seconds(
        mqtt::get<std::uint32_t>(props, mqtt::property::MESSAGE_EXPIRY_INTERVAL));
  }
  return in;
}

class PahoClient final : public MqttClient {
 public:
  PahoClient(const MqttConnectOptions& options, MqttCallbacks callbacks)
      : callbacks_(std::move(callbacks)), client_(make_paho_async_client(options)) {
    if (callbacks_.connection_lost) {
      client_->set_connection_lost_handler(
          [this](const std::string& cause) { callbacks_.connection_lost(cause); });
    }
    if (callbacks_.message_arrived) {
      client_->set_message_callback([this](mqtt::const_message_ptr message) {
        try {
          callbacks_.message_arrived(incoming(message));
        } catch (const std::exception& e) {
          // Nothing may unwind into Paho's thread.
          spdlog::error("mqtt: an arriving message could not be handled: {}", e.what());
        } catch (...) {
          spdlog::error("mqtt: an arriving message could not be handled");
        }
      });
    }
  }

  ConnectResult connect(const MqttConnectOptions& options, milliseconds wait,
                        const std::function<bool()>& give_up) override {
    ConnectResult result;
    try {
      // Kept for the client's life, as Paho C++ keeps pointers into what it
      // was handed; bound in its final place (Paho C++ 1.2.0, see there).
      connect_options_ = paho_connect_options(options);
      bind_connect_properties(connect_options_);
      const auto token = client_->connect(connect_options_);
      const auto deadline = std::chrono::steady_clock::now() + wait;
      while (!token->wait_for(kConnectPoll)) {
        if (give_up && give_up()) {
          result.cancelled = true;
          return result;
        }
        if (std::chrono::steady_clock::now() > deadline) {
          result.error = fmt::format("no CONNACK within {}", format_delay(options.connect_timeout));
          return result;
        }
      }
      result.session_present = token->get_connect_response().is_session_present();
      result.connected = true;
    } catch (const mqtt::exception& e) {
      result.error = describe_connect_failure(e, options);
    }
    return result;
  }

  MqttStatus publish(SessionMessage message, CompletionSink* sink, CompletionTag tag) override {
    try {
      auto paho = mqtt::make_message(std::move(message.topic), std::move(message.payload),
                                     message.qos, message.retain);
      if (sink == nullptr) {
        client_->publish(std::move(paho));
      } else {
        client_->publish(std::move(paho), reinterpret_cast<void*>(tag), listeners(*sink).publish);
      }
    } catch (const mqtt::exception& e) {
      return status_of(e);
    }
    return {};
  }

  bool publish_and_wait(SessionMessage message, milliseconds wait) override {
    try {
      return client_
          ->publish(mqtt::make_message(std::move(message.topic), std::move(message.payload),
                                       message.qos, message.retain))
          ->wait_for(wait);
    } catch (const mqtt::exception& e) {
      // MQTT 5 reports "no matching subscribers" this way too.
      spdlog::debug("mqtt: publish on {}: {}", message.topic, e.what());
      return false;
    }
  }

  MqttStatus subscribe(const std::vector<std::string>& topics, int qos, CompletionSink* sink,
                       CompletionTag tag) override {
    try {
      const auto filters = std::make_shared<const mqtt::string_collection>(topics);
      const auto qoss = mqtt::async_client::qos_collection(topics.size(), qos);
      if (sink == nullptr) {
        client_->subscribe(filters, qoss);
      } else {
        client_->subscribe(filters, qoss, reinterpret_cast<void*>(tag), listeners(*sink).subscribe);
      }
    } catch (const mqtt::exception& e) {
      return status_of(e);
    }
    return {};
  }

  MqttStatus unsubscribe(const std::vector<std::string>& topics, CompletionSink* sink,
                         CompletionTag tag) override {
    try {
      const auto filters = std::make_shared<const mqtt::string_collection>(topics);
      if (sink == nullptr) {
        client_->unsubscribe(filters);
      } else {
        client_->unsubscribe(filters, reinterpret_cast<void*>(tag), listeners(*sink).unsubscribe);
      }
    } catch (const mqtt::exception& e) {
      return status_of(e);
    }
    return {};
  }

  void disconnect(milliseconds quiesce) override {
    try {
      if (client_->is_connected()) {
        client_->disconnect(static_cast<int>(quiesce.count()))
            ->wait_for(std::max(quiesce, kDisconnectWait));
      }
    } catch (const mqtt::exception& e) {
      // Already gone: nothing to close.
      spdlog::debug("mqtt: disconnect: {}", e.what());
    }
  }

  [[nodiscard]] bool is_connected() const override { return client_->is_connected(); }

 private:
  // Forwards Paho's token outcomes of one kind to a sink (Paho's threads).
  class Listener final : public mqtt::iaction_listener {
   public:
    enum class Kind { kPublish, kSubscribe, kUnsubscribe };
    Listener(CompletionSink& sink, Kind kind) : sink_(sink), kind_(kind) {}
    void on_success(const mqtt::token& tok) override { report(tok, true); }
    void on_failure(const mqtt::token& tok) override { report(tok, false); }

   private:
    void report(const mqtt::token& tok, bool ok) noexcept;
    CompletionSink& sink_;
    Kind kind_;
  };
  struct Listeners {
    explicit Listeners(CompletionSink& sink)
        : publish(sink, Listener::Kind::kPublish),
          subscribe(sink, Listener::Kind::kSubscribe),
          unsubscribe(sink, Listener::Kind::kUnsubscribe) {}
    Listener publish;
    Listener subscribe;
    Listener unsubscribe;
  };

  // The caller's thread only; a sink has its listeners for the client's life.
  Listeners& listeners(CompletionSink& sink) {
    auto& slot = listeners_[&sink];
    if (!slot) slot = std::make_unique<Listeners>(sink);
    return *slot;
  }

  MqttCallbacks callbacks_;
  mqtt::connect_options connect_options_;  // those of the last connect
  std::unordered_map<CompletionSink*, std::unique_ptr<Listeners>> listeners_;
  // Last, so it is destroyed first: no Paho callback outlives what it uses.
  std::unique_ptr<mqtt::async_client> client_;
};

void PahoClient::Listener::report(const mqtt::token& tok, bool ok) noexcept {
  try {
    const auto tag = reinterpret_cast<CompletionTag>(tok.get_user_context());
    if (kind_ == Kind::kPublish) {
      Delivery delivery;
      delivery.delivered = ok;
      if (!ok) {
        // Paho C++ reports MQTTPP_V3_CODE (255) for failures without a reason code.
        const int reason = static_cast<int>(tok.get_reason_code());
        if (reason >= 0x80 && reason != mqtt::ReasonCode::MQTTPP_V3_CODE) {
          delivery.reason_code = reason;
          delivery.error = mqtt::exception::reason_code_str(reason);
        } else {
          delivery.error = fmt::format("{} ({})", mqtt::exception::error_str(tok.get_return_code()),
                                       tok.get_return_code());
        }
      }
      sink_.on_published(tag, delivery);
      return;
    }
    SubscribeOutcome outcome;
    outcome.unsubscribe = kind_ == Kind::kUnsubscribe;
    outcome.ok = ok;
    const auto topics = tok.get_topics();
    outcome.topics = topics ? topics->size() : 0;
    outcome.granted = outcome.unsubscribe ? 0 : outcome.topics;
    if (!ok) {
      outcome.granted = 0;
      outcome.error = mqtt::exception::error_str(tok.get_return_code());
    } else if (!outcome.unsubscribe) {
      // MQTT 3.1.1 reports a refused topic as return code 0x80 in a successful SUBACK.
      try {
        const mqtt::subscribe_response response = tok.get_subscribe_response();
        for (const auto code : response.get_reason_codes()) {
          if (code >= 0x80 && outcome.granted > 0) --outcome.granted;
        }
      } catch (const std::exception&) {
        // No per-topic codes: all granted.
      }
    }
    sink_.on_subscribed(tag, outcome);
  } catch (...) {
    // Nothing may unwind into Paho's thread.
  }
}

}  // namespace

std::unique_ptr<MqttClient> make_paho_client(const MqttConnectOptions& options,
                                             MqttCallbacks callbacks) {
  return std::make_unique<PahoClient>(options, std::move(callbacks));
}

std::unique_ptr<mqtt::async_client> make_paho_async_client(const MqttConnectOptions& options) {
  const std::string uri = broker_uri(options.host, options.port, options.tls);
  try {
    // Paho refuses a publish once max_buffered_messages commands are queued —
    // even while connected — so that limit sits above the window too.
    const auto create = mqtt::create_options_builder()
                            .mqtt_version(MQTTVERSION_5)  // allows 3.1.1 and 5 at connect
                            .send_while_disconnected(false)
                            .max_buffered_messages(options.max_inflight)
                            .finalize();
    return std::make_unique<mqtt::async_client>(uri, options.client_id, create,
                                                static_cast<mqtt::iclient_persistence*>(nullptr));
  } catch (const mqtt::exception& e) {
    throw std::runtime_error(fmt::format("mqtt: cannot create a client for {}: {}", uri, e.what()));
  }
}

mqtt::connect_options paho_connect_options(const MqttConnectOptions& options) {
  mqtt::connect_options_builder b;
  // The version first: Paho clears the flag that does not belong to it.
  if (options.protocol == 5) {
    b.mqtt_version(MQTTVERSION_5);
    b.clean_start(options.clean_session);
    mqtt::properties props;
    if (options.maximum_packet_size) {
      props.add(mqtt::property(mqtt::property::MAXIMUM_PACKET_SIZE,
                               static_cast<std::int32_t>(*options.maximum_packet_size)));
    }
    if (options.session_expiry) {
      props.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL,
                               static_cast<std::int32_t>(*options.session_expiry)));
    }
    if (!props.empty()) b.properties(props);
  } else {
    b.mqtt_version(MQTTVERSION_3_1_1);
    b.clean_session(options.clean_session);
  }
  b.keep_alive_interval(options.keepalive);
  b.connect_timeout(std::chrono::seconds(to_seconds(options.connect_timeout, 1)));
  // The forwarder reconnects itself (back-off with jitter, resend from the store).
  b.automatic_reconnect(false);
  b.max_inflight(options.max_inflight);
  if (!options.username.empty()) b.user_name(options.username);
  if (options.password) b.password(*options.password);
  if (const auto& will = options.will) {
    b.will(mqtt::will_options(will->topic, will->payload, will->qos, will->retain));
  }
  if (options.tls) {
    const config::TlsConfig& tls = options.tls_files;
    mqtt::ssl_options_builder ssl;
    if (!tls.ca_file.empty()) ssl.trust_store(tls.ca_file);
    if (!tls.cert_file.empty()) ssl.key_store(tls.cert_file);
    if (!tls.key_file.empty()) ssl.private_key(tls.key_file);
    ssl.enable_server_cert_auth(true);  // the chain is always verified
    ssl.verify(tls.verify_hostname);
    b.ssl(ssl.finalize());
  }
  return b.finalize();
}

void bind_connect_properties(mqtt::connect_options& options) {
  // None (MQTT 3.1.1): Paho refuses connect properties with that version.
  if (options.get_properties().empty()) return;
  mqtt::properties props = options.get_properties();
  options.set_properties(std::move(props));
}

std::string describe_connect_failure(const mqtt::exception& e, const MqttConnectOptions& options) {
  const int rc = e.get_return_code();
  // MQTT 5 CONNACK reason codes arrive as the return code (Paho 1.3.12).
  const int reason = e.get_reason_code() >= 0x80 ? e.get_reason_code() : rc;
  if (options.protocol == 5 && reason >= 0x80) {
    return fmt::format("the broker refused the connection: {} (reason code 0x{:02x}); {}",
                       mqtt::exception::reason_code_str(reason), reason,
                       credentials_hint(options.username));
  }
  if (const auto text = connack_text(rc); !text.empty()) {
    return fmt::format("the broker refused the connection: {} (CONNACK return code {}); {}", text,
                       rc, credentials_hint(options.username));
  }
  std::string what = e.get_message();
  if (what.empty()) what = e.get_error_str();
  if (what.empty()) what = e.what();
  if (rc == MQTTASYNC_FAILURE) return explain_transport_failure(what, options);
  return what;
}

}  // namespace fieldgate::bridge::detail

namespace fieldgate::bridge {

void init_mqtt_library() {
  MQTTAsync_init_options options = MQTTAsync_init_options_initializer;
  options.do_openssl_init = 0;
  MQTTAsync_global_init(&options);
}

}  // namespace fieldgate::bridge
