// The libmosquitto client's requests (mosquitto_client_impl.hpp): publish,
// subscribe and unsubscribe with the packet id mapped to the caller's tag,
// and libmosquitto's callbacks on the network thread turned into the seam's
// completions, connect outcome and arriving messages.
#include <fmt/format.h>
#include <mqtt_protocol.h>

#include <utility>

#include "bridge/mosquitto_client_impl.hpp"
#include "bridge/mqtt_session.hpp"

namespace fieldgate::bridge::detail {
namespace {

MqttStatus status_of(int rc) {
  const bool message = rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_MALFORMED_UTF8 ||
                       rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_OVERSIZE_PACKET;
  return {message ? MqttStatus::Kind::kMessageRefused : MqttStatus::Kind::kSessionBroken,
          mosquitto_error_text(rc)};
}

// Why the broker ended a session: an MQTT 5 DISCONNECT reason code (0x80 and

}  // namespace

MqttStatus MosquittoClient::publish(SessionMessage message, CompletionSink* sink,
                                    CompletionTag tag) {
  if (!is_connected()) return {MqttStatus::Kind::kSessionBroken, "not connected"};
  std::lock_guard lock(pending_mutex_);
  int mid = 0;
  const int rc = mosquitto_publish_v5(handle_.get(), &mid, message.topic.c_str(),
                                      static_cast<int>(message.payload.size()),
                                      message.payload.data(), message.qos, message.retain, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return status_of(rc);
  if (in_burst_) {
    queued_in_burst_ = true;  // end_burst() wakes the loop
  } else {
    wake_network();
  }
  if (sink != nullptr) {
    pending_.insert_or_assign(mid, Pending{sink, tag, Pending::Kind::kPublish, 1, nullptr});
  } else {
    pending_.erase(mid);  // an older message's, never completed
  }
  return {};
}

bool MosquittoClient::publish_and_wait(SessionMessage message, milliseconds wait) {
  // Shared with the pending entry: a completion after the wait ends finds it alive.
  struct Waiter final : CompletionSink {
    void on_published(CompletionTag, const Delivery& delivery) noexcept override {
      std::lock_guard lock(mutex);
      delivered = delivery.delivered;
      done = true;
      cv.notify_all();
    }
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    bool delivered = false;
  };
  const auto waiter = std::make_shared<Waiter>();
  if (!is_connected()) return false;
  {
    std::lock_guard lock(pending_mutex_);
    int mid = 0;
    const int rc = mosquitto_publish_v5(
        handle_.get(), &mid, message.topic.c_str(), static_cast<int>(message.payload.size()),
        message.payload.data(), message.qos, message.retain, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      spdlog::debug("mqtt: publish on {}: {}", message.topic, mosquitto_error_text(rc));
      return false;
    }
    wake_network();
    pending_.insert_or_assign(mid, Pending{waiter.get(), 0, Pending::Kind::kPublish, 1, waiter});
  }
  std::unique_lock lock(waiter->mutex);
  return waiter->cv.wait_for(lock, wait, [&] { return waiter->done; }) && waiter->delivered;
}

MqttStatus MosquittoClient::subscribe(const std::vector<std::string>& topics, int qos,
                                      CompletionSink* sink, CompletionTag tag) {
  return request(topics, qos, Pending::Kind::kSubscribe, sink, tag);
}

MqttStatus MosquittoClient::unsubscribe(const std::vector<std::string>& topics,
                                        CompletionSink* sink, CompletionTag tag) {
  return request(topics, 0, Pending::Kind::kUnsubscribe, sink, tag);
}

MqttStatus MosquittoClient::request(std::vector<std::string> topics, int qos, Pending::Kind kind,
                                    CompletionSink* sink, CompletionTag tag) {
  if (!is_connected()) return {MqttStatus::Kind::kSessionBroken, "not connected"};
  std::vector<char*> filters;
  filters.reserve(topics.size());
  for (auto& topic : topics) filters.push_back(topic.data());
  std::lock_guard lock(pending_mutex_);
  int mid = 0;
  const int count = static_cast<int>(filters.size());
  const int rc =
      kind == Pending::Kind::kSubscribe
          ? mosquitto_subscribe_multiple(handle_.get(), &mid, count, filters.data(), qos, 0,
                                         nullptr)
          : mosquitto_unsubscribe_multiple(handle_.get(), &mid, count, filters.data(), nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return status_of(rc);
  wake_network();
  if (sink != nullptr) {
    pending_.insert_or_assign(mid, Pending{sink, tag, kind, topics.size(), nullptr});
  } else {
    pending_.erase(mid);
  }
  return {};
}

void MosquittoClient::fail_pending(const std::string& why) noexcept {
  std::unordered_map<int, Pending> failed;
  {
    std::lock_guard lock(pending_mutex_);
    failed.swap(pending_);
  }
  for (const auto& [mid, p] : failed) {
    guarded("a completion could not be reported", [&] {
      if (p.kind == Pending::Kind::kPublish) {
        p.sink->on_published(p.tag, Delivery{false, 0, why});
      } else {
        p.sink->on_subscribed(p.tag, SubscribeOutcome{p.kind == Pending::Kind::kUnsubscribe, false,
                                                      p.topics, 0, why});
      }
    });
  }
}

std::optional<MosquittoClient::Pending> MosquittoClient::take_pending(int mid) {
  std::lock_guard lock(pending_mutex_);
  const auto it = pending_.find(mid);
  if (it == pending_.end()) return std::nullopt;
  const Pending p = it->second;
  pending_.erase(it);
  return p;
}

void MosquittoClient::on_connect(mosquitto*, void* self, int rc, int flags,
                                 const mosquitto_property*) noexcept {
  auto& c = *static_cast<MosquittoClient*>(self);
  guarded("connect", [&] {
    std::lock_guard lock(c.mutex_);
    if (rc == 0) {
      c.phase_ = Phase::kConnected;
      c.session_present_ = (flags & 1) != 0;  // CONNACK's Session Present bit
    } else if (c.connect_options_.protocol == 5 && rc >= 0x80) {
      c.connect_error_ = fmt::format(
          "the broker refused the connection: {} (reason code 0x{:02x}); {}",
          mosquitto_reason_string(rc), rc, credentials_hint(c.connect_options_.username));
    } else {
      const auto text = connack_text(rc);
      c.connect_error_ =
          fmt::format("the broker refused the connection: {} (CONNACK return code {}); {}",
                      text.empty() ? std::string_view(mosquitto_connack_string(rc)) : text, rc,
                      credentials_hint(c.connect_options_.username));
    }
    c.cv_.notify_all();
  });
}

void MosquittoClient::on_disconnect(mosquitto*, void* self, int rc,
                                    const mosquitto_property*) noexcept {
  auto& c = *static_cast<MosquittoClient*>(self);
  std::lock_guard lock(c.mutex_);
  c.disconnect_rc_ = rc;
}

void MosquittoClient::on_publish(mosquitto*, void* self, int mid, int reason,
                                 const mosquitto_property*) noexcept {
  auto& c = *static_cast<MosquittoClient*>(self);
  guarded("a delivery could not be reported", [&] {
    const auto p = c.take_pending(mid);
    if (!p) return;
    Delivery delivery;
    delivery.delivered = reason < 0x80;  // PUBACK/PUBREC reason codes, MQTT 5
    if (!delivery.delivered) {
      delivery.reason_code = reason;
      delivery.error = mosquitto_reason_string(reason);
    }
    p->sink->on_published(p->tag, delivery);
  });
}

void MosquittoClient::on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted,
                                   const mosquitto_property*) noexcept {
  auto& c = *static_cast<MosquittoClient*>(self);
  guarded("a SUBACK could not be reported", [&] {
    const auto p = c.take_pending(mid);
    if (!p) return;
    SubscribeOutcome outcome{false, true, p->topics, 0, {}};
    // 0x80 and above: this topic refused (MQTT 3.1.1's 0x80 and MQTT 5's reason codes).
    for (int i = 0; i < count; ++i) outcome.granted += granted[i] < 0x80 ? 1 : 0;
    p->sink->on_subscribed(p->tag, outcome);
  });
}

void MosquittoClient::on_unsubscribe(mosquitto*, void* self, int mid,
                                     const mosquitto_property*) noexcept {
  auto& c = *static_cast<MosquittoClient*>(self);
  guarded("an UNSUBACK could not be reported", [&] {
    const auto p = c.take_pending(mid);
    if (!p) return;
    p->sink->on_subscribed(p->tag, SubscribeOutcome{true, true, p->topics, 0, {}});
  });
}

void MosquittoClient::on_message(mosquitto*, void* self, const mosquitto_message* message,
                                 const mosquitto_property* props) noexcept {
  auto& c = *static_cast<MosquittoClient*>(self);
  if (!c.callbacks_.message_arrived) return;
  guarded("an arriving message could not be handled", [&] {
    IncomingMessage in;
    in.topic = message->topic;
    in.payload.assign(static_cast<const char*>(message->payload),
                      static_cast<std::size_t>(message->payloadlen));
    in.qos = message->qos;
    in.retained = message->retain;
    std::uint32_t expiry = 0;
    if (mosquitto_property_read_int32(props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, &expiry, false)) {
      in.expiry = std::chrono::seconds(expiry);
    }
    c.callbacks_.message_arrived(in);
  });
}

}  // namespace fieldgate::bridge::detail
