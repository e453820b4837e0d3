// Readings per second through the store to a broker: the SQLite buffer and the
// MQTT forwarder exactly as `fieldgate run` wires them, fed as fast as a
// driver could, counted when the broker has confirmed every reading (the
// store is empty again). Run by bench/store-forward, which starts a private
// mosquitto; not a pass/fail test.
//
//   store_forward --broker tcp://127.0.0.1:PORT --db FILE --qos 1 --count 200000
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "bridge/forwarder.hpp"
#include "bridge/store.hpp"
#include "bridge/topics.hpp"

using namespace fieldgate;

int main(int argc, char** argv) {
  CLI::App app{"fieldgate store-and-forward throughput"};
  std::string broker;
  std::string db;
  int qos = 1;
  std::size_t count = 200000;
  std::string durability = "normal";
  int devices = 10;
  app.add_option("--broker", broker)->required();
  app.add_option("--db", db)->required();
  app.add_option("--qos", qos)->check(CLI::Range(0, 2));
  app.add_option("--count", count);
  app.add_option("--devices", devices);
  app.add_option("--durability", durability)->check(CLI::IsMember({"normal", "full"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  config::Config config;
  config.gateway.name = "bench";
  config.store.path = db;
  config.store.durability =
      durability == "full" ? config::Durability::kFull : config::Durability::kNormal;
  config.store.commit_interval = std::chrono::milliseconds(100);
  config.store.max_rows = count * 2;
  config.store.max_bytes = 4ULL << 30;
  config.mqtt.broker = broker;
  config.mqtt.qos = qos;
  config.has_mqtt = true;
  std::filesystem::remove(db);

  auto store = bridge::open_sqlite_store(config.store);
  bridge::Forwarder forwarder(config.mqtt, config.gateway, *store, bridge::TopicMap(config));
  store->set_commit_listener([&forwarder] { forwarder.wake(); });
  forwarder.start();
  for (int i = 0; i < 100 && !forwarder.stats().connected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!forwarder.stats().connected) {
    fmt::print(stderr, "cannot connect to {}: {}\n", broker, forwarder.stats().last_error);
    return 1;
  }

  // Batches like a device poll: 50 points of one device at a time.
  const auto start = std::chrono::steady_clock::now();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  constexpr std::size_t kPointsPerPoll = 50;
  for (std::size_t produced = 0; produced < count;) {
    Batch batch;
    const auto device = fmt::format("meter-{}", (produced / kPointsPerPoll) % devices);
    for (std::size_t p = 0; p < kPointsPerPoll && produced < count; ++p, ++produced) {
      batch.push_back(Reading{device,
                              fmt::format("p{}", p),
                              230.0 + static_cast<double>(p) / 10,
                              "V",
                              Quality::kGood,
                              now_ms,
                              0,
                              {}});
    }
    store->append(std::move(batch));
  }
  const auto appended = std::chrono::steady_clock::now();
  store->flush();
  while (forwarder.stats().delivered < count) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (std::chrono::steady_clock::now() - start > std::chrono::minutes(5)) {
      fmt::print(stderr, "gave up: {} of {} delivered\n", forwarder.stats().delivered, count);
      return 1;
    }
  }
  const auto done = std::chrono::steady_clock::now();
  forwarder.stop(std::chrono::seconds(5));

  const double secs = std::chrono::duration<double>(done - start).count();
  fmt::print(
      "qos {} durability {}: {} readings in {:.2f} s = {:.0f} readings/s (append took {:.2f} s)\n",
      qos, durability, count, secs, static_cast<double>(count) / secs,
      std::chrono::duration<double>(appended - start).count());
  return 0;
}
