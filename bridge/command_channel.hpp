// Private to bridge/: the command side of the forwarder's MQTT session. It
// keeps the broker's subscriptions equal to the wanted command topics (all of
// them again after every connect: a clean session forgets them), hands each
// arriving command to the handler, and publishes results. Results are never
// buffered: not connected means not sent.
//
// Threads: set_topics() and queue_result() from anywhere; on_message() on
// Paho's thread; start_session(), service() on the forwarder thread, the only
// one that calls into the Paho client.
#pragma once

#include <mqtt/async_client.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bridge/commands.hpp"

namespace fieldgate::bridge::detail {

class CommandChannel {
 public:
  /// `wake` makes the forwarder thread call service() soon.
  explicit CommandChannel(std::function<void()> wake) : wake_(std::move(wake)) {}

  void set_handler(CommandHandler handler);
  /// The topics to be subscribed from now on, at `qos`.
  void set_topics(std::vector<std::string> topics, int qos);
  /// Queues a result for publishing (QoS `qos`, not retained); dropped when
  /// `connected` is false or the session ends before it went out.
  void queue_result(std::string topic, std::string payload, int qos, bool connected);

  /// Paho's message callback.
  void on_message(const mqtt::const_message_ptr& message);

  /// A new session: nothing is subscribed (clean session), nothing is pending.
  void start_session();
  /// Subscribes and unsubscribes to match the wanted topics, publishes queued
  /// results. Paho's exceptions are logged, never thrown.
  void service(mqtt::async_client& client);

  /// Command topics the broker confirmed in this session.
  [[nodiscard]] std::size_t subscribed() const noexcept { return confirmed_.load(); }

 private:
  class Listener final : public mqtt::iaction_listener {
   public:
    Listener(CommandChannel& channel, bool subscribe) : channel_(channel), subscribe_(subscribe) {}
    void on_success(const mqtt::token& tok) override;
    void on_failure(const mqtt::token& tok) override;

   private:
    CommandChannel& channel_;
    bool subscribe_;
  };

  struct Result {
    std::string topic;
    std::string payload;
    int qos = 1;
  };

  std::function<void()> wake_;
  std::mutex mutex_;  // guards everything below but the forwarder-thread state
  CommandHandler handler_;
  std::set<std::string> wanted_;
  int qos_ = 1;
  std::vector<Result> results_;
  std::uint64_t session_ = 0;  // counts start_session(), so late SUBACKs are ignored

  // Forwarder thread only.
  std::set<std::string> requested_;  // subscribed in this session (SUBACK or not)
  int requested_qos_ = -1;
  std::atomic<std::size_t> confirmed_{0};
  Listener subscribed_listener_{*this, true};
  Listener unsubscribed_listener_{*this, false};
};

}  // namespace fieldgate::bridge::detail
