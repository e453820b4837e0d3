// The bench's independent subscriber: its own libmosquitto client and
// connection, counting what the broker delivers on a topic filter. Every
// figure of the bench that says "readings per second" is counted here, for
// the gateway and for the plain-Paho baseline alike. libmosquitto, not Paho:
// on two cores the counting client shares the CPU with the gateway and the
// broker, and libmosquitto receives a message for four fifths of Paho's CPU
// (docs/PERFORMANCE.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct mosquitto;
struct mosquitto_message;

namespace fieldgate::bench {

/// Unix time in milliseconds (CLOCK_REALTIME, comparable across processes).
[[nodiscard]] std::int64_t unix_ms() noexcept;

/// The number after "seq": in a JSON payload, 0 when there is none.
[[nodiscard]] std::uint64_t payload_seq(std::string_view payload) noexcept;

struct SubscriberCounts {
  std::uint64_t messages = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t up_to_seq = 0;       // messages whose payload seq <= the watched seq
  std::int64_t first_ms = 0;         // arrival of the first message (Unix ms), 0 if none
  std::int64_t last_ms = 0;          // arrival of the latest message
  std::int64_t watched_done_ms = 0;  // arrival that made up_to_seq reach the target
};

class Subscriber {
 public:
  /// Connects to `broker` ("tcp://host:port"), retrying for up to
  /// `connect_within`, and subscribes; throws std::runtime_error when the
  /// broker cannot be reached. With `watch_seq` > 0, counts the messages
  /// whose seq is at most `watch_seq` and notes when `watch_target` of them
  /// have arrived.
  Subscriber(const std::string& broker, const std::string& filter, int qos,
             std::chrono::milliseconds connect_within, std::uint64_t watch_seq = 0,
             std::uint64_t watch_target = 0);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  [[nodiscard]] SubscriberCounts counts() const noexcept;

  /// Waits until `messages` have arrived, or none arrived for `quiet`, or
  /// `limit` passed. True when the count was reached.
  bool wait_for(std::uint64_t messages, std::chrono::milliseconds quiet,
                std::chrono::milliseconds limit) const;

 private:
  struct Close {
    void operator()(mosquitto* client) const noexcept;
  };
  static void on_message(mosquitto*, void* self, const mosquitto_message* message);
  static void on_subscribe(mosquitto*, void* self, int, int, const int*);

  std::atomic<bool> subscribed_{false};
  const std::uint64_t watch_seq_;
  const std::uint64_t watch_target_;
  std::atomic<std::uint64_t> messages_{0}, bytes_{0}, up_to_seq_{0};
  std::atomic<std::int64_t> first_ms_{0}, last_ms_{0}, watched_done_ms_{0};
  // Last: its network thread, which calls on_message, ends before the counts go.
  std::unique_ptr<mosquitto, Close> client_;
};

}  // namespace fieldgate::bench
