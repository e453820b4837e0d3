#include "bridge/command_channel.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <utility>

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
  {
    std::lock_guard lock(mutex_);
    if (!connected) {
      ++drops_.not_connected;
      ++counts_.dropped;
      return;
    }
    if (results_.size() >= kMaxQueuedResults ||
        queued_bytes_ + payload.size() > kMaxQueuedResultBytes) {
      ++drops_.queue_full;
      ++counts_.dropped;
      return;
    }
    queued_bytes_ += payload.size();
    results_.push_back({std::move(topic), std::move(payload), qos});
  }
  wake_();
}

ResultCounts CommandChannel::result_counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

bool CommandChannel::on_message(const mqtt::const_message_ptr& message) noexcept {
  try {
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
  } catch (const std::exception& e) {
    // Nothing may unwind into Paho's thread.
    spdlog::error("mqtt: a command message could not be handled: {}", e.what());
  } catch (...) {
    spdlog::error("mqtt: a command message could not be handled");
  }
  return true;  // asked last: every message not another hook's is a command
}

std::string CommandChannel::on_connect(mqtt::async_client& /*client*/) {
  start_session();
  return {};
}

void CommandChannel::start_session() {
  std::lock_guard lock(mutex_);
  ++session_;
  // A result never outlives its session: not buffered.
  drops_.session_ended += results_.size();
  counts_.dropped += results_.size();
  results_.clear();
  queued_bytes_ = 0;
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
    // Within the budget: what the client holds of ours stays below what
    // paho_queue_limit() leaves above the readings' window.
    while (!results_.empty() && results_inflight_ < kResultsInflight) {
      queued_bytes_ -= results_.front().payload.size();
      results.push_back(std::move(results_.front()));
      results_.pop_front();
      ++results_inflight_;
    }
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
      client.publish(mqtt::make_message(result.topic, std::move(result.payload), result.qos, false),
                     nullptr, result_listener_);
    } catch (const mqtt::exception& e) {
      spdlog::debug("mqtt: result on {} not published: {}", result.topic, e.what());
      std::lock_guard lock(mutex_);
      --results_inflight_;
      ++drops_.refused;
      ++counts_.dropped;
    }
  }
  summarise_drops();
}

void CommandChannel::summarise_drops() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_summary_ < kDropSummaryEvery) return;
  Drops drops;
  ResultCounts counts;
  {
    std::lock_guard lock(mutex_);
    if (drops_.total() == 0) return;
    drops = std::exchange(drops_, Drops{});
    counts = counts_;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - last_summary_);
  std::string why;
  const auto add = [&why](std::uint64_t n, std::string_view reason) {
    if (n > 0) why += fmt::format("{}{} {}", why.empty() ? "" : ", ", n, reason);
  };
  add(drops.queue_full, "result queue full");
  add(drops.not_connected, "not connected");
  add(drops.session_ended, "session ended");
  add(drops.refused, "refused by the client");
  spdlog::warn("mqtt: {} command results not published{} ({}); {} published in that time",
               drops.total(),
               last_summary_ == std::chrono::steady_clock::time_point{}
                   ? ""
                   : fmt::format(" in the last {}s", seconds.count()),
               why, counts.published - published_at_summary_);
  last_summary_ = now;
  published_at_summary_ = counts.published;
}

void CommandChannel::ResultListener::on_success(const mqtt::token&) {
  channel_.result_done(true);
}

void CommandChannel::ResultListener::on_failure(const mqtt::token&) {
  // The session ended with it (or the broker refused it): it is not sent again.
  channel_.result_done(false);
}

void CommandChannel::result_done(bool published) noexcept {
  bool waiting = false;
  {
    std::lock_guard lock(mutex_);
    results_inflight_ = std::max(results_inflight_ - 1, 0);
    if (published) {
      ++counts_.published;
    } else {
      ++drops_.refused;
      ++counts_.dropped;
    }
    waiting = !results_.empty();
  }
  // Room in the budget for results that wait: the forwarder thread sends them.
  if (waiting) {
    try {
      wake_();
    } catch (...) {
      // The forwarder looks again within a second anyway.
    }
  }
}

void CommandChannel::Listener::on_success(const mqtt::token& tok) {
  try {
    confirm(tok);
  } catch (...) {
    // Nothing may unwind into Paho's thread; the next session subscribes again.
  }
}

void CommandChannel::Listener::confirm(const mqtt::token& tok) {
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
  try {
    spdlog::warn("mqtt: {} of command topics failed: {}",
                 subscribe_ ? "subscription" : "unsubscription",
                 mqtt::exception::error_str(tok.get_return_code()));
  } catch (...) {
    // Logging only.
  }
}

}  // namespace fieldgate::bridge::detail
