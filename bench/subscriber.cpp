#include "bench/subscriber.hpp"

#include <mosquitto.h>

#include <charconv>
#include <mutex>
#include <random>
#include <stdexcept>
#include <system_error>
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

void Subscriber::Close::operator()(mosquitto* client) const noexcept {
  mosquitto_disconnect(client);
  mosquitto_loop_stop(client, false);
  mosquitto_destroy(client);
}

// On libmosquitto's network thread.
void Subscriber::on_message(mosquitto*, void* self, const mosquitto_message* message) {
  auto& s = *static_cast<Subscriber*>(self);
  const auto now = unix_ms();
  const std::string_view payload(static_cast<const char*>(message->payload),
                                 static_cast<std::size_t>(message->payloadlen));
  if (s.messages_.fetch_add(1, std::memory_order_relaxed) == 0) s.first_ms_ = now;
  s.last_ms_.store(now, std::memory_order_relaxed);
  s.bytes_.fetch_add(payload.size(), std::memory_order_relaxed);
  if (s.watch_seq_ > 0) {
    const auto seq = payload_seq(payload);
    if (seq > 0 && seq <= s.watch_seq_ &&
        s.up_to_seq_.fetch_add(1, std::memory_order_relaxed) + 1 == s.watch_target_) {
      s.watched_done_ms_ = now;
    }
  }
}

void Subscriber::on_subscribe(mosquitto*, void* self, int, int, const int*) {
  static_cast<Subscriber*>(self)->subscribed_ = true;
}

Subscriber::Subscriber(const std::string& broker, const std::string& filter, int qos,
                       std::chrono::milliseconds connect_within, std::uint64_t watch_seq,
                       std::uint64_t watch_target)
    : watch_seq_(watch_seq), watch_target_(watch_target) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  std::string_view address = broker;
  if (address.substr(0, 6) == "tcp://") address.remove_prefix(6);
  const auto colon = address.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos ||
      std::from_chars(address.data() + colon + 1, address.data() + address.size(), port).ec !=
          std::errc{}) {
    throw std::runtime_error(fmt::format("subscriber: not tcp://host:port: {}", broker));
  }
  const std::string host(address.substr(0, colon));
  const auto id = fmt::format("bench-sub-{}", std::random_device{}());
  client_.reset(mosquitto_new(id.c_str(), true, this));
  if (!client_) throw std::runtime_error("subscriber: cannot create a libmosquitto client");
  mosquitto_message_callback_set(client_.get(), on_message);
  mosquitto_subscribe_callback_set(client_.get(), on_subscribe);
  const auto deadline = std::chrono::steady_clock::now() + connect_within;
  int rc = MOSQ_ERR_SUCCESS;
  while ((rc = mosquitto_connect(client_.get(), host.c_str(), port, 60)) != MOSQ_ERR_SUCCESS) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(
          fmt::format("subscriber: cannot connect to {}: {}", broker, mosquitto_strerror(rc)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if ((rc = mosquitto_loop_start(client_.get())) != MOSQ_ERR_SUCCESS ||
      (rc = mosquitto_subscribe(client_.get(), nullptr, filter.c_str(), qos)) != MOSQ_ERR_SUCCESS) {
    throw std::runtime_error(
        fmt::format("subscriber: cannot subscribe at {}: {}", broker, mosquitto_strerror(rc)));
  }
  while (!subscribed_) {
    if (std::chrono::steady_clock::now() > deadline + std::chrono::seconds(5)) {
      throw std::runtime_error(fmt::format("subscriber: no SUBACK from {}", broker));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Subscriber::~Subscriber() = default;

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
