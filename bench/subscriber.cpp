#include "bench/subscriber.hpp"

#include <charconv>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace fieldgate::bench {

std::int64_t unix_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t payload_seq(std::string_view payload) noexcept {
  constexpr std::string_view kKey = "\"seq\":";
  const auto at = payload.find(kKey);
  if (at == std::string_view::npos) return 0;
  std::uint64_t seq = 0;
  const char* begin = payload.data() + at + kKey.size();
  std::from_chars(begin, payload.data() + payload.size(), seq);
  return seq;
}

Subscriber::Subscriber(const std::string& broker, const std::string& filter, int qos,
                       std::chrono::milliseconds connect_within, std::uint64_t watch_seq,
                       std::uint64_t watch_target)
    : watch_seq_(watch_seq), watch_target_(watch_target) {
  const auto id = fmt::format("bench-sub-{}", std::random_device{}());
  client_ = std::make_unique<mqtt::async_client>(broker, id,
                                                 static_cast<mqtt::iclient_persistence*>(nullptr));
  client_->set_message_callback([this](mqtt::const_message_ptr msg) {
    const auto now = unix_ms();
    const auto& payload = msg->get_payload_ref();
    if (messages_.fetch_add(1, std::memory_order_relaxed) == 0) first_ms_ = now;
    last_ms_.store(now, std::memory_order_relaxed);
    bytes_.fetch_add(payload.size(), std::memory_order_relaxed);
    if (watch_seq_ > 0) {
      const auto seq = payload_seq(std::string_view(payload.data(), payload.size()));
      if (seq > 0 && seq <= watch_seq_ &&
          up_to_seq_.fetch_add(1, std::memory_order_relaxed) + 1 == watch_target_) {
        watched_done_ms_ = now;
      }
    }
  });
  const auto options = mqtt::connect_options_builder()
                           .mqtt_version(MQTTVERSION_3_1_1)
                           .clean_session(true)
                           .keep_alive_interval(std::chrono::seconds(60))
                           .connect_timeout(std::chrono::seconds(2))
                           .finalize();
  const auto deadline = std::chrono::steady_clock::now() + connect_within;
  std::string error;
  while (true) {
    try {
      client_->connect(options)->wait();
      client_->subscribe(filter, qos)->wait();
      return;
    } catch (const mqtt::exception& e) {
      error = e.what();
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(fmt::format("subscriber: cannot subscribe at {}: {}", broker, error));
}

Subscriber::~Subscriber() {
  try {
    if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {
    // Gone already.
  }
}

SubscriberCounts Subscriber::counts() const noexcept {
  return {messages_.load(), bytes_.load(),   up_to_seq_.load(),
          first_ms_.load(), last_ms_.load(), watched_done_ms_.load()};
}

bool Subscriber::wait_for(std::uint64_t messages, std::chrono::milliseconds quiet,
                          std::chrono::milliseconds limit) const {
  const auto start = std::chrono::steady_clock::now();
  auto last_count = messages_.load();
  auto last_change = start;
  while (messages_.load() < messages) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto now = std::chrono::steady_clock::now();
    if (const auto c = messages_.load(); c != last_count) {
      last_count = c;
      last_change = now;
    }
    if (now - last_change > quiet || now - start > limit) return false;
  }
  return true;
}

}  // namespace fieldgate::bench
