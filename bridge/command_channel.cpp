#include "bridge/command_channel.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace fieldgate::bridge::detail {
namespace {

using SessionTag = std::uintptr_t;  // travels as Paho's user context

mqtt::const_string_collection_ptr collection(const std::vector<std::string>& topics) {
  return std::make_shared<const mqtt::string_collection>(topics);
}

}  // namespace

void CommandChannel::set_handler(CommandHandler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

void CommandChannel::set_topics(std::vector<std::string> topics, int qos) {
  {
    std::lock_guard lock(mutex_);
    wanted_ = std::set<std::string>(std::make_move_iterator(topics.begin()),
                                    std::make_move_iterator(topics.end()));
    qos_ = qos;
  }
  wake_();
}

void CommandChannel::queue_result(std::string topic, std::string payload, int qos, bool connected) {
  if (!connected) {
    spdlog::warn("mqtt: not connected, result on {} not published (results are not buffered)",
                 topic);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    results_.push_back({std::move(topic), std::move(payload), qos});
  }
  wake_();
}

void CommandChannel::on_message(const mqtt::const_message_ptr& message) {
  IncomingCommand command;
  command.arrived = std::chrono::steady_clock::now();
  command.topic = message->get_topic();
  command.payload = message->to_string();
  command.retained = message->is_retained();
  const mqtt::properties& props = message->get_properties();
  if (props.contains(mqtt::property::MESSAGE_EXPIRY_INTERVAL)) {
    command.expiry = std::chrono::seconds(
        mqtt::get<std::uint32_t>(props, mqtt::property::MESSAGE_EXPIRY_INTERVAL));
  }
  CommandHandler handler;
  {
    std::lock_guard lock(mutex_);
    handler = handler_;
  }
  if (handler) handler(std::move(command));
}

void CommandChannel::start_session() {
  std::lock_guard lock(mutex_);
  ++session_;
  results_.clear();  // a result never outlives its session: not buffered
  requested_.clear();
  requested_qos_ = -1;
  confirmed_ = 0;
}

void CommandChannel::service(mqtt::async_client& client) {
  std::set<std::string> wanted;
  int qos = 1;
  std::vector<Result> results;
  SessionTag tag = 0;
  {
    std::lock_guard lock(mutex_);
    wanted = wanted_;
    qos = qos_;
    results.swap(results_);
    tag = session_;
  }
  // A new QoS applies to every topic: subscribing again replaces the old one.
  if (qos != requested_qos_) requested_.clear();
  std::vector<std::string> add;
  std::vector<std::string> remove;
  std::set_difference(wanted.begin(), wanted.end(), requested_.begin(), requested_.end(),
                      std::back_inserter(add));
  std::set_difference(requested_.begin(), requested_.end(), wanted.begin(), wanted.end(),
                      std::back_inserter(remove));
  try {
    if (!remove.empty()) {
      for (const auto& topic : remove) requested_.erase(topic);
      client.unsubscribe(collection(remove), reinterpret_cast<void*>(tag), unsubscribed_listener_);
    }
    if (!add.empty()) {
      requested_.insert(add.begin(), add.end());
      requested_qos_ = qos;
      client.subscribe(collection(add), mqtt::async_client::qos_collection(add.size(), qos),
                       reinterpret_cast<void*>(tag), subscribed_listener_);
    }
  } catch (const mqtt::exception& e) {
    // The session is breaking; the next one subscribes everything again.
    spdlog::warn("mqtt: cannot change the command subscriptions: {}", e.what());
  }
  for (auto& result : results) {
    try {
      client.publish(
          mqtt::make_message(result.topic, std::move(result.payload), result.qos, false));
    } catch (const mqtt::exception& e) {
      spdlog::warn("mqtt: result on {} not published: {}", result.topic, e.what());
    }
  }
}

void CommandChannel::Listener::on_success(const mqtt::token& tok) {
  const auto tag = reinterpret_cast<SessionTag>(tok.get_user_context());
  const auto topics = tok.get_topics();
  const std::size_t n = topics ? topics->size() : 0;
  {
    std::lock_guard lock(channel_.mutex_);
    if (tag != channel_.session_) return;  // a SUBACK of a session gone by
  }
  if (!subscribe_) {
    channel_.confirmed_ -= std::min(n, channel_.confirmed_.load());
    spdlog::info("mqtt: unsubscribed from {} command topic(s)", n);
    return;
  }
  // MQTT 3.1.1 reports a refused topic as return code 0x80 in a successful SUBACK.
  std::size_t granted = n;
  try {
    const mqtt::subscribe_response response = tok.get_subscribe_response();
    for (const auto code : response.get_reason_codes()) {
      if (code >= 0x80 && granted > 0) --granted;
    }
  } catch (const std::exception&) {
    // No per-topic codes: all granted.
  }
  channel_.confirmed_ += granted;
  if (granted < n) {
    spdlog::warn("mqtt: the broker refused {} of {} command topic subscriptions", n - granted, n);
  }
  spdlog::info("mqtt: subscribed to {} command topic(s)", granted);
}

void CommandChannel::Listener::on_failure(const mqtt::token& tok) {
  spdlog::warn("mqtt: {} of command topics failed: {}",
               subscribe_ ? "subscription" : "unsubscription",
               mqtt::exception::error_str(tok.get_return_code()));
}

}  // namespace fieldgate::bridge::detail
