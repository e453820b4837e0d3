#include "bridge/command_channel.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <utility>

namespace fieldgate::bridge::detail {
namespace {

using SessionTag = CompletionTag;  // start_session()'s count, on each (un)subscribe

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

bool CommandChannel::on_message(const IncomingMessage& message) noexcept {
  try {
    IncomingCommand command;
    command.arrived = std::chrono::steady_clock::now();
    command.topic = message.topic;
    command.payload = message.payload;
    command.retained = message.retained;
    command.expiry = message.expiry;
    CommandHandler handler;
    {
      std::lock_guard lock(mutex_);
      handler = handler_;
    }
    if (handler) handler(std::move(command));
  } catch (const std::exception& e) {
    // Nothing may unwind into the client's thread.
    spdlog::error("mqtt: a command message could not be handled: {}", e.what());
  } catch (...) {
    spdlog::error("mqtt: a command message could not be handled");
  }
  return true;  // asked last: every message not another hook's is a command
}

std::string CommandChannel::on_connect(MqttClient& /*client*/) {
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

void CommandChannel::service(MqttClient& client) {
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
  MqttStatus status;
  if (!remove.empty()) {
    for (const auto& topic : remove) requested_.erase(topic);
    status = client.unsubscribe(remove, &completions_, tag);
  }
  if (status.ok() && !add.empty()) {
    requested_.insert(add.begin(), add.end());
    requested_qos_ = qos;
    status = client.subscribe(add, qos, &completions_, tag);
  }
  if (!status.ok()) {
    // The session is breaking; the next one subscribes everything again.
    spdlog::warn("mqtt: cannot change the command subscriptions: {}", status.error);
  }
  for (auto& result : results) {
    const std::string topic = result.topic;
    const auto published = client.publish(
        {std::move(result.topic), std::move(result.payload), result.qos, false}, &completions_, 0);
    if (!published.ok()) {
      spdlog::debug("mqtt: result on {} not published: {}", topic, published.error);
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

void CommandChannel::Completions::on_published(CompletionTag /*tag*/,
                                               const Delivery& delivery) noexcept {
  // Not delivered: the session ended with it (or the broker refused it); it
  // is not sent again.
  channel_.result_done(delivery.delivered);
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

void CommandChannel::Completions::on_subscribed(CompletionTag tag,
                                                const SubscribeOutcome& outcome) noexcept {
  try {
    if (outcome.ok) {
      confirm(tag, outcome);
    } else {
      spdlog::warn("mqtt: {} of command topics failed: {}",
                   outcome.unsubscribe ? "unsubscription" : "subscription", outcome.error);
    }
  } catch (...) {
    // Nothing may unwind into the client's thread; the next session subscribes again.
  }
}

void CommandChannel::Completions::confirm(CompletionTag tag, const SubscribeOutcome& outcome) {
  const std::size_t n = outcome.topics;
  {
    std::lock_guard lock(channel_.mutex_);
    if (tag != channel_.session_) return;  // a SUBACK of a session gone by
  }
  if (outcome.unsubscribe) {
    channel_.confirmed_ -= std::min(n, channel_.confirmed_.load());
    spdlog::info("mqtt: unsubscribed from {} command topic(s)", n);
    return;
  }
  // MQTT 3.1.1 reports a refused topic as return code 0x80 in a successful
  // SUBACK: the client counts it as not granted.
  const std::size_t granted = outcome.granted;
  channel_.confirmed_ += granted;
  if (granted < n) {
    spdlog::warn("mqtt: the broker refused {} of {} command topic subscriptions", n - granted, n);
  }
  spdlog::info("mqtt: subscribed to {} command topic(s)", granted);
}

}  // namespace fieldgate::bridge::detail
