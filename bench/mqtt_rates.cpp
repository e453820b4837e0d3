// Design notes.
//  * Both measurements count at the same kind of subscriber (subscriber.hpp),
//    subscribed at the publisher's QoS before anything is published, and take
//    the rate over the span from the first to the last message it received:
//    start-up (connect, the first group commit) is left out on both sides.
//  * The baseline uses bridge's own make_paho_async_client()/paho_connect_options() and
//    keeps at most the forwarder's window unconfirmed (max_inflight, or
//    max_inflight_qos2 at QoS 2), so the only difference left is the store,
//    the scheduler and the payload rendering per reading.
//  * The e2e source is a synthetic Driver that is always due and returns 50
//    readings per poll until the budget is spent: it outruns any uplink, so
//    the buffer fills and the forwarder, not the source, sets the pace.
#include "bench/mqtt_rates.hpp"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <mqtt/async_client.h>

#include "bench/subscriber.hpp"
#include "bridge/forwarder.hpp"
#include "bridge/mqtt_session.hpp"
#include "bridge/paho_client.hpp"
#include "bridge/payload_formats.hpp"
#include "bridge/status_hook.hpp"
#include "bridge/store.hpp"
#include "bridge/topics.hpp"
#include "gateway/scheduler.hpp"

namespace fieldgate::bench {
namespace {

using namespace std::chrono_literals;
constexpr int kDevices = 10;
constexpr int kPointsPerDevice = 50;
constexpr auto kQuiet = 10s;   // no message for this long: the run is over
constexpr auto kLimit = 300s;  // bound on any one run

std::int64_t now_ms() {
  return unix_ms();
}

Reading make_reading(int device, int point, std::uint64_t seq) {
  return Reading{fmt::format("meter-{}", device),
                 fmt::format("p{}", point),
                 230.0 + static_cast<double>(point) / 10 + static_cast<double>(seq % 7) / 100,
                 "V",
                 Quality::kGood,
                 now_ms(),
                 seq,
                 {}};
}

config::Config bench_config(const RateOptions& options) {
  config::Config config;
  config.gateway.name = "bench";
  config.store.path = options.db;
  config.store.durability =
      options.durability_full ? config::Durability::kFull : config::Durability::kNormal;
  if (options.spill) config.store.mode = config::StoreMode::kSpill;
  config.mqtt.broker = options.broker;
  config.mqtt.qos = options.qos;
  config.mqtt.max_inflight = options.window;
  config.mqtt.max_inflight_qos2 = options.window_qos2;
  config.mqtt.topic = "bench/{device}/{point}";
  config.mqtt.status_topic = "bench-status/{gateway}";
  config.has_mqtt = true;
  for (int d = 0; d < kDevices; ++d) {
    config::DeviceConfig device;
    device.name = fmt::format("meter-{}", d);
    device.driver = "synthetic";
    device.poll_interval = config::Duration(1);
    for (int p = 0; p < kPointsPerDevice; ++p) {
      config::PointConfig point;
      point.name = fmt::format("p{}", p);
      point.unit = "V";
      device.points.push_back(point);
    }
    config.devices.push_back(device);
  }
  return config;
}

int subscriber_qos(const RateOptions& o) {
  return o.subscriber_qos < 0 ? o.qos : o.subscriber_qos;
}

RateResult finish(const Subscriber& sub, std::uint64_t sent) {
  sub.wait_for(sent, kQuiet, kLimit);
  const auto c = sub.counts();
  RateResult r;
  r.sent = sent;
  r.received = c.messages;
  r.seconds = static_cast<double>(c.last_ms - c.first_ms) / 1000.0;
  if (c.messages > 1 && r.seconds > 0) r.rate = static_cast<double>(c.messages - 1) / r.seconds;
  if (c.messages > 0) r.avg_payload = static_cast<double>(c.payload_bytes) / c.messages;
  return r;
}

// The forwarder's window, for a plain publisher, refilled the way the
// forwarder refills it: once half of max_inflight is free (so the publisher
// wakes once per half window, not once per acknowledgement), and at QoS 2 as
// soon as any of the small max_inflight_qos2 window is free.
class Window final : public mqtt::iaction_listener {
 public:
  Window(int size, int refill_at) : size_(size), refill_at_(refill_at) {}
  /// Waits until at most `refill_at` are in flight; returns the free room.
  int wait_for_room() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return inflight_ <= refill_at_; });
    return size_ - inflight_;
  }
  void taken(int n) {
    std::lock_guard lock(mu_);
    inflight_ += n;
  }
  void drain() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kQuiet, [this] { return inflight_ == 0; });
  }
  [[nodiscard]] std::uint64_t failed() const { return failed_; }

 private:
  void release() {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      --inflight_;
      wake = inflight_ == refill_at_ || inflight_ == 0;
    }
    if (wake) cv_.notify_one();
  }
  void on_success(const mqtt::token&) override { release(); }
  void on_failure(const mqtt::token&) override {
    ++failed_;
    release();
  }

  const int size_;
  const int refill_at_;
  std::mutex mu_;
  std::condition_variable cv_;
  int inflight_ = 0;
  std::atomic<std::uint64_t> failed_{0};
};

// Always due, 50 readings per poll, until the shared budget is spent.
class SyntheticDriver final : public drivers::Driver {
 public:
  SyntheticDriver(int index, std::atomic<std::int64_t>& budget)
      : index_(index), name_(fmt::format("meter-{}", index)), budget_(budget) {}
  const std::string& device() const noexcept override { return name_; }
  const std::string& channel() const noexcept override { return channel_; }
  drivers::Clock::time_point next_due() const noexcept override {
    return budget_.load() > 0 ? drivers::Clock::time_point{} : drivers::Clock::now() + 1h;
  }
  Batch poll(drivers::Clock::time_point, bool) override {
    const auto left = budget_.fetch_sub(kPointsPerDevice);
    const auto n = std::clamp<std::int64_t>(left, 0, kPointsPerDevice);
    if (left < kPointsPerDevice) budget_.store(0);
    Batch batch;
    batch.reserve(static_cast<std::size_t>(n));
    for (int p = 0; p < n; ++p) batch.push_back(make_reading(index_, p, 0));
    ++health_.polls;
    return batch;
  }
  void close() noexcept override {}
  const drivers::DeviceHealth& health() const noexcept override { return health_; }
  std::vector<std::string> describe_plan() const override { return {}; }

 private:
  int index_;
  std::string name_;
  std::string channel_ = "synthetic";
  std::atomic<std::int64_t>& budget_;
  drivers::DeviceHealth health_;
};

}  // namespace

RateResult run_baseline(const RateOptions& options) {
  const auto config = bench_config(options);
  const auto session = bridge::detail::make_session_settings(config.mqtt, config.gateway);
  const auto connect = bridge::detail::make_connect_options(
      config.mqtt, session, bridge::detail::make_status_hook(session.status_topic)->will());
  auto client = bridge::detail::make_paho_async_client(connect);
  Subscriber sub(options.broker, "bench/#", subscriber_qos(options), 5s);
  auto paho_options = bridge::detail::paho_connect_options(connect);
  bridge::detail::bind_connect_properties(paho_options);
  client->connect(paho_options)->wait();

  // The payloads a plain publisher would have in hand: rendered once.
  std::vector<std::pair<std::string, std::string>> messages;
  for (int d = 0; d < kDevices; ++d) {
    for (int p = 0; p < kPointsPerDevice; ++p) {
      messages.emplace_back(fmt::format("bench/meter-{}/p{}", d, p),
                            bridge::json_payload(make_reading(d, p, options.count)));
    }
  }
  Window window = options.qos == 2 ? Window(options.window_qos2, options.window_qos2 - 1)
                                   : Window(options.window, options.window / 2);
  for (std::uint64_t i = 0; i < options.count;) {
    const auto room = static_cast<std::uint64_t>(window.wait_for_room());
    const auto n = std::min(room, options.count - i);
    // Counted before publishing: an acknowledgement may arrive before publish() returns.
    window.taken(static_cast<int>(n));
    for (std::uint64_t k = 0; k < n; ++k, ++i) {
      const auto& [topic, payload] = messages[i % messages.size()];
      client->publish(mqtt::make_message(topic, payload, options.qos, false), nullptr, window);
    }
  }
  window.drain();
  auto result = finish(sub, options.count);
  client->disconnect()->wait_for(2s);
  if (window.failed() > 0)
    throw std::runtime_error(fmt::format("{} publishes failed", window.failed()));
  return result;
}

RateResult run_e2e(const RateOptions& options) {
  std::filesystem::remove(options.db);
  std::filesystem::remove(options.db + "-wal");
  std::filesystem::remove(options.db + "-shm");
  const auto config = bench_config(options);
  Subscriber sub(options.broker, "bench/#", subscriber_qos(options), 5s);

  // As gateway/gateway.cpp wires them.
  auto store = bridge::open_sqlite_store(config.store);
  bridge::Forwarder forwarder(config.mqtt, config.gateway, *store, bridge::TopicMap(config));
  store->set_commit_listener([&forwarder] { forwarder.wake(); });
  forwarder.start();
  for (int i = 0; i < 200 && !forwarder.stats().connected; ++i) std::this_thread::sleep_for(25ms);
  if (!forwarder.stats().connected) {
    throw std::runtime_error("forwarder: " + forwarder.stats().last_error);
  }
  std::atomic<std::int64_t> budget{static_cast<std::int64_t>(options.count)};
  std::vector<std::unique_ptr<drivers::Driver>> drivers;
  for (int d = 0; d < kDevices; ++d)
    drivers.push_back(std::make_unique<SyntheticDriver>(d, budget));
  gateway::Scheduler scheduler(config, std::move(drivers),
                               [&store](Batch&& batch) { store->append(std::move(batch)); });
  scheduler.start();
  auto result = finish(sub, options.count);
  scheduler.stop();
  store->flush();
  forwarder.stop(5s);
  store->set_commit_listener({});  // the forwarder goes first (gateway/gateway.cpp does the same)
  return result;
}

}  // namespace fieldgate::bench
