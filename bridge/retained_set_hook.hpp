// A session hook that keeps a set of retained messages on the broker: the
// whole set is published at every connect, and again when a trigger topic
// receives a trigger payload (at most once per interval, however many
// arrive); replace() publishes the difference with the set before -- an
// empty retained message for each topic no longer in it (which deletes a
// retained message), the new and changed ones. The bridge knows nothing of
// what the messages mean: Home Assistant discovery (gateway/ha_discovery.hpp)
// is one such set, "<prefix>/status" "online" its trigger.
//
// Threads: replace() from any thread; on_message() on the client's; the
// rest on the forwarder thread. At most kWindow of its messages are
// unconfirmed at once, so a set of thousands never fills the client's queue
// that readings share.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "bridge/session_hook.hpp"

namespace fieldgate::bridge {

class RetainedSetHook final : public SessionHook, private CompletionSink {
 public:
  using Clock = std::chrono::steady_clock;

  /// What a call to replace() installs.
  struct Contents {
    std::map<std::string, std::string> messages;  // topic -> payload (never empty)
    std::string trigger_topic;                    // "" = no trigger
    std::string trigger_payload = "online";
    Clock::duration resend_interval = std::chrono::seconds(30);
    int qos = 1;
  };

  RetainedSetHook() = default;

  /// Called (from any thread, no lock held) when there is more to publish:
  /// the forwarder's wake(), so that service() comes soon. Set before start.
  void set_waker(std::function<void()> wake) { wake_ = std::move(wake); }

  /// Installs `contents`: the difference is published now if connected,
  /// otherwise the whole set at the next connect. A changed trigger topic is
  /// subscribed at the next connect.
  void replace(Contents contents);

  /// Resends a trigger caused (connects not counted).
  [[nodiscard]] std::uint64_t resends() const;

  [[nodiscard]] std::string on_connect(MqttClient& client) override;
  void service(MqttClient& client) override;
  [[nodiscard]] bool on_message(const IncomingMessage& message) noexcept override;

 private:
  static constexpr std::size_t kWindow = 32;

  void on_published(CompletionTag tag, const Delivery& delivery) noexcept override;
  void queue_all_locked();

  std::function<void()> wake_;
  mutable std::mutex mutex_;
  Contents contents_;
  std::deque<std::string> pending_;  // topics to publish, in order
  std::set<std::string> to_delete_;  // removed topics whose deletion is not confirmed
  std::map<CompletionTag, std::string> in_flight_;  // tag -> topic
  CompletionTag next_tag_ = 1;
  std::string subscribed_;  // the trigger topic of this session
  bool resend_requested_ = false;
  Clock::time_point last_resend_{};
  bool resent_once_ = false;
  std::uint64_t resends_ = 0;
};

}  // namespace fieldgate::bridge
