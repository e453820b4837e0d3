// Private to bridge/: the command side of the forwarder's MQTT session. It
// keeps the broker's subscriptions equal to the wanted command topics (all of
// them again after every connect: a clean session forgets them), hands each
// arriving command to the handler, and publishes results.
//
// Results never share fate with readings. They wait in a queue of their own,
// bounded (kMaxQueuedResults, kMaxQueuedResultBytes), and at most
// kResultsInflight of them are in the client at a time; the client's own
// limits sit above the readings' window plus that budget (paho_queue_limit),
// so however many commands arrive, the client never refuses a reading
// because of results and
// the session is never broken by them. A result that does not fit is dropped
// and counted (ResultCounts); drops are summarised in one log line per
// kDropSummaryEvery. Results are never buffered across sessions: not
// connected means not sent.
//
// Threads: set_topics() and queue_result() from anywhere; on_message() and
// the completions on the MQTT client's thread; on_connect(), service() on the
// forwarder thread, the only one that calls into the client.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bridge/commands.hpp"
#include "bridge/session_hook.hpp"

namespace fieldgate::bridge::detail {

/// Results waiting for the client, at most (count and payload bytes).
inline constexpr std::size_t kMaxQueuedResults = 256;
inline constexpr std::size_t kMaxQueuedResultBytes = 1024 * 1024;
/// Results handed to the client and not yet confirmed, at most.
inline constexpr int kResultsInflight = 32;
/// Dropped results are reported at most this often.
inline constexpr std::chrono::seconds kDropSummaryEvery{10};

/// A session hook (session_hook.hpp): on_connect() starts a session,
/// service() runs between publishes, on_message() takes every message (the
/// command topics are the only ones subscribed).
class CommandChannel final : public SessionHook {
 public:
  /// `wake` makes the forwarder thread call service() soon.
  explicit CommandChannel(std::function<void()> wake) : wake_(std::move(wake)) {}

  void set_handler(CommandHandler handler);
  /// The topics to be subscribed from now on, at `qos`.
  void set_topics(std::vector<std::string> topics, int qos);
  /// Queues a result for publishing (QoS `qos`, not retained); dropped and
  /// counted when `connected` is false, the queue is full, or the session
  /// ends before it went out.
  void queue_result(std::string topic, std::string payload, int qos, bool connected);

  /// The client's message callback: hands the message to the handler. Never throws.
  bool on_message(const IncomingMessage& message) noexcept override;

  /// A new session: nothing is subscribed (clean session), nothing is queued.
  void start_session();
  std::string on_connect(MqttClient& client) override;
  /// Subscribes and unsubscribes to match the wanted topics, publishes queued
  /// results within the budget. The client's errors are logged, never thrown.
  void service(MqttClient& client) override;

  /// Command topics the broker confirmed in this session.
  [[nodiscard]] std::size_t subscribed() const noexcept { return confirmed_.load(); }
  /// Results published and dropped so far.
  [[nodiscard]] ResultCounts result_counts() const;

 private:
  // SUBACKs, UNSUBACKs and the outcome of each result handed to the client.
  class Completions final : public CompletionSink {
   public:
    explicit Completions(CommandChannel& channel) : channel_(channel) {}
    void on_published(CompletionTag tag, const Delivery& delivery) noexcept override;
    void on_subscribed(CompletionTag tag, const SubscribeOutcome& outcome) noexcept override;

   private:
    void confirm(CompletionTag tag, const SubscribeOutcome& outcome);
    CommandChannel& channel_;
  };

  struct Result {
    std::string topic;
    std::string payload;
    int qos = 1;
  };
  // Why results were dropped since the last summary line.
  struct Drops {
    std::uint64_t not_connected = 0;
    std::uint64_t queue_full = 0;
    std::uint64_t session_ended = 0;
    std::uint64_t refused = 0;  // by the client, or failed after it took them
    [[nodiscard]] std::uint64_t total() const noexcept {
      return not_connected + queue_full + session_ended + refused;
    }
  };

  void summarise_drops();                     // forwarder thread
  void result_done(bool published) noexcept;  // the client's thread

  std::function<void()> wake_;
  mutable std::mutex mutex_;  // guards everything below but the forwarder-thread state
  CommandHandler handler_;
  std::set<std::string> wanted_;
  int qos_ = 1;
  std::deque<Result> results_;
  std::size_t queued_bytes_ = 0;
  int results_inflight_ = 0;  // handed to the client, outcome not known yet
  ResultCounts counts_;
  Drops drops_;                // since the last summary
  std::uint64_t session_ = 0;  // counts start_session(), so late SUBACKs are ignored

  // Forwarder thread only.
  std::set<std::string> requested_;  // subscribed in this session (SUBACK or not)
  int requested_qos_ = -1;
  std::atomic<std::size_t> confirmed_{0};
  std::chrono::steady_clock::time_point last_summary_{};
  std::uint64_t published_at_summary_ = 0;
  Completions completions_{*this};
};

}  // namespace fieldgate::bridge::detail
