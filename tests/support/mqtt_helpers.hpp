// Test support for forwarder tests: a config pointing at a test broker,
// readings, a forwarder wired to a store (wake on commit), a log capture, and
// polling with a deadline.
#pragma once

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bridge/forwarder.hpp"
#include "bridge/store.hpp"
#include "bridge/topics.hpp"
#include "config/config.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {

/// Polls `done` every 10 ms until it holds or `timeout` passes.
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

/// Gateway "gw", [mqtt] at `broker` with quick reconnects; no devices.
inline config::Config mqtt_config(const std::string& broker) {
  config::Config c;
  c.gateway.name = "gw";
  c.has_mqtt = true;
  c.mqtt.broker = broker;
  c.mqtt.tls_enabled = broker.rfind("ssl://", 0) == 0 || broker.rfind("mqtts://", 0) == 0;
  c.mqtt.reconnect_min = std::chrono::milliseconds(100);
  c.mqtt.reconnect_max = std::chrono::milliseconds(1000);
  c.mqtt.connect_timeout = std::chrono::milliseconds(5000);
  c.mqtt.keepalive = std::chrono::milliseconds(10000);
  if (test_mqtt_client() == "mosquitto") c.mqtt.client = config::MqttClientLibrary::kMosquitto;
  return c;
}

inline config::DeviceConfig& add_device(config::Config& c, const std::string& name,
                                        const std::vector<std::string>& points) {
  config::DeviceConfig d;
  d.name = name;
  for (const auto& p : points) {
    config::PointConfig pc;
    pc.name = p;
    d.points.push_back(pc);
  }
  c.devices.push_back(d);
  return c.devices.back();
}

inline Reading make_reading(const std::string& device, const std::string& point, Value value) {
  Reading r;
  r.device = device;
  r.point = point;
  r.value = std::move(value);
  r.source_ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return r;
}

/// One poll of `device`: one reading per point, values `base`, `base + 1`, …
inline Batch make_poll(const std::string& device, const std::vector<std::string>& points,
                       double base) {
  Batch b;
  for (const auto& p : points) b.push_back(make_reading(device, p, base++));
  return b;
}

/// The "seq" of a json payload.
inline std::uint64_t seq_of(const ReceivedMessage& m) {
  return nlohmann::json::parse(m.payload).at("seq").get<std::uint64_t>();
}

/// A forwarder on `store`, woken by the store's commits; unhooked from the
/// store before it goes, so a late commit never calls a destroyed forwarder.
class ForwarderRig {
 public:
  ForwarderRig(const config::Config& c, bridge::Store& store, bridge::ForwarderParts parts = {})
      : store_(store),
        forwarder_(std::make_unique<bridge::Forwarder>(c.mqtt, c.gateway, store,
                                                       bridge::TopicMap(c), std::move(parts))) {
    store_.set_commit_listener([f = forwarder_.get()] { f->wake(); });
  }
  ~ForwarderRig() {
    store_.set_commit_listener({});
    forwarder_.reset();
  }
  ForwarderRig(const ForwarderRig&) = delete;
  ForwarderRig& operator=(const ForwarderRig&) = delete;
  bridge::Forwarder& operator*() { return *forwarder_; }
  bridge::Forwarder* operator->() { return forwarder_.get(); }

 private:
  bridge::Store& store_;
  std::unique_ptr<bridge::Forwarder> forwarder_;
};

/// Sends spdlog's default logger into memory while it lives.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000)),
        previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  [[nodiscard]] std::string text() const {
    std::string out;
    for (const auto& line : sink_->last_formatted()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace fieldgate::testing
