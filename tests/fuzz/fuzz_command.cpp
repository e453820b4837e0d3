// Fuzz target: the MQTT command path, topic + payload → result
// (gateway/command_router.*, command_check.*, the scheduler's write queue and
// the log sink's escaping), as `fieldgate run` wires it: a real Scheduler
// whose worker thread runs the writes on a fake driver.
//
// Input: one byte choosing the topic (0..3: the set topics of a number, a
// string, a bool and a read-only point; anything else: a topic of up to 64
// bytes read next, as a length-prefixed string, which may spell a known one),
// one byte of flags (bit 0 retained, bit 1 an MQTT 5 expiry of `flags >> 2`
// seconds), then the payload as it arrived.
//
// Checks: nothing throws or crashes; a command on a known topic gets exactly
// one result, on its result topic, strict JSON (valid UTF-8) with a known
// status, for this device and point; a payload that is not UTF-8 or is over
// command_max_size is rejected and never written; nothing outside min/max
// and `allowed` reaches the driver; an unknown topic gets no result; every
// log line, once escaped as the sink does, is one printable line.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/command_router.hpp"
#include "gateway/logging.hpp"
#include "gateway/utf8.hpp"
#include "tests/fuzz/fuzz_input.hpp"
#include "tests/support/modbus_config.hpp"

namespace {

using fieldgate::Batch;
using fieldgate::Value;
using fieldgate::drivers::Clock;
namespace config = fieldgate::config;
namespace drivers = fieldgate::drivers;
namespace gateway = fieldgate::gateway;
namespace modbus = fieldgate::modbus;
namespace test_support = fieldgate::test_support;

constexpr std::uint64_t kMaxSize = 1024;  // below libFuzzer's 4 KiB max_len: it crosses it
constexpr double kMin = -5;
constexpr double kMax = 30;

/// Writes succeed and read back what was written; records what reached it.
class RecordingDriver final : public drivers::Driver {
 public:
  const std::string& device() const noexcept override { return name_; }
  const std::string& channel() const noexcept override { return name_; }
  Clock::time_point next_due() const noexcept override { return Clock::time_point::max(); }
  Batch poll(Clock::time_point, bool) override { return {}; }
  void close() noexcept override {}
  const drivers::DeviceHealth& health() const noexcept override { return health_; }
  std::vector<std::string> describe_plan() const override { return {}; }
  drivers::WriteResult write(const std::string& point, const Value& value) override {
    ++writes;
    if (point == "setpoint") {
      const double* d = std::get_if<double>(&value);
      const std::int64_t* i = std::get_if<std::int64_t>(&value);
      const double v = d != nullptr ? *d : i != nullptr ? static_cast<double>(*i) : kMax + 1;
      FUZZ_CHECK(v >= kMin && v <= kMax);
    }
    if (point == "relay") FUZZ_CHECK(value == Value(true));  // allowed = [true]
    if (point == "label") {
      const auto* s = std::get_if<std::string>(&value);
      FUZZ_CHECK(s != nullptr && !fieldgate::gateway::first_invalid_utf8(*s));
    }
    FUZZ_CHECK(point != "ct_ratio");
    return {drivers::WriteStatus::kOk, fieldgate::Quality::kGood, {}, value};
  }
  std::atomic<int> writes{0};

 private:
  std::string name_ = "meter";
  drivers::DeviceHealth health_;
};

/// Every log line, escaped as the real sink does it, must be one printable line.
class CheckingSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string line =
        gateway::escape_log_text(std::string_view(msg.payload.data(), msg.payload.size()));
    for (const char c : line) {
      const auto b = static_cast<unsigned char>(c);
      FUZZ_CHECK(b >= 0x20 && b != 0x7f);
    }
    FUZZ_CHECK(!gateway::first_invalid_utf8(line));
  }
  void flush_() override {}
};

struct Result {
  std::string topic;
  std::string payload;
};

class Rig {
 public:
  Rig() {
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<CheckingSink>()));
    spdlog::set_level(spdlog::level::trace);
    config_.gateway.name = "gw";
    config_.mqtt.command_max_size = kMaxSize;
    config::DeviceConfig device;
    device.name = "meter";
    device.driver = "modbus-tcp";
    config::PointConfig setpoint = test_support::modbus_point(
        "setpoint", modbus::RegisterKind::kHolding, 0, modbus::ValueType::kInt16);
    setpoint.edit_write().writable = true;
    setpoint.edit_write().min = kMin;
    setpoint.edit_write().max = kMax;
    device.points.push_back(setpoint);
    config::PointConfig label = test_support::modbus_point("label", modbus::RegisterKind::kHolding,
                                                           0, modbus::ValueType::kString, 4);
    label.value_kind = config::ValueKind::kString;
    label.edit_write().writable = true;
    device.points.push_back(label);
    config::PointConfig relay = test_support::modbus_point("relay", modbus::RegisterKind::kCoil, 0,
                                                           modbus::ValueType::kBool);
    relay.edit_write().writable = true;
    relay.edit_write().allowed = {true};
    device.points.push_back(relay);
    config::PointConfig ratio;
    ratio.name = "ct_ratio";
    device.points.push_back(ratio);
    config_.devices.push_back(device);

    auto owned = std::make_unique<RecordingDriver>();
    driver_ = owned.get();
    std::vector<std::unique_ptr<drivers::Driver>> list;
    list.push_back(std::move(owned));
    scheduler_ = std::make_unique<gateway::Scheduler>(config_, std::move(list), [](Batch&&) {});
    scheduler_->start();
    router_.attach(config_, *scheduler_);
  }

  ~Rig() {
    router_.detach();
    scheduler_->stop();
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  /// Handles one command; returns its results (waiting for one on a known topic).
  std::vector<Result> handle(fieldgate::bridge::IncomingCommand command, bool known) {
    {
      std::lock_guard lock(mutex_);
      results_.clear();
    }
    router_.handle(command);
    std::unique_lock lock(mutex_);
    if (known) {
      const bool answered =
          cv_.wait_for(lock, std::chrono::seconds(30), [&] { return !results_.empty(); });
      FUZZ_CHECK(answered);
    }
    return results_;
  }

  /// Results so far, over every input: one per command on a known topic.
  std::size_t total() {
    std::lock_guard lock(mutex_);
    return total_;
  }
  [[nodiscard]] int writes() const { return driver_->writes; }

 private:
  void publish(std::string topic, std::string payload) {
    std::lock_guard lock(mutex_);
    results_.push_back({std::move(topic), std::move(payload)});
    ++total_;
    cv_.notify_all();
  }

  config::Config config_;
  RecordingDriver* driver_ = nullptr;
  std::unique_ptr<gateway::Scheduler> scheduler_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Result> results_;
  std::size_t total_ = 0;
  gateway::CommandRouter router_{[this](std::string topic, std::string payload, int) {
    publish(std::move(topic), std::move(payload));
  }};
};

const char* const kPoints[] = {"setpoint", "label", "relay", "ct_ratio"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Rig rig;  // one scheduler and worker thread for the whole run
  static std::size_t known_commands = 0;
  fieldgate::fuzz::FuzzInput in(data, size);
  const std::uint8_t which = in.byte();
  const std::uint8_t flags = in.byte();
  fieldgate::bridge::IncomingCommand command;
  std::string point;
  if (which < 4) {
    command.topic = std::string("fieldgate/gw/meter/") + kPoints[which] + "/set";
  } else {
    command.topic = in.text(64);
  }
  // A fuzzed topic may still spell a known one.
  for (const char* p : kPoints) {
    if (command.topic == std::string("fieldgate/gw/meter/") + p + "/set") point = p;
  }
  command.payload = std::string(in.rest());
  command.arrived = std::chrono::steady_clock::now();
  command.retained = (flags & 1) != 0;
  if ((flags & 2) != 0) command.expiry = std::chrono::seconds(flags >> 2);

  const bool known = !point.empty();
  FUZZ_CHECK(rig.total() == known_commands);  // no late or second result for an earlier one
  const int writes_before = rig.writes();
  const auto results = rig.handle(command, known);
  if (!known) {
    FUZZ_CHECK(results.empty());
    return 0;
  }
  ++known_commands;
  FUZZ_CHECK(results.size() == 1);
  const Result& r = results.front();
  FUZZ_CHECK(r.topic == command.topic + "/result");
  // Strict parsing: throws on anything but valid JSON in valid UTF-8.
  const auto j = nlohmann::json::parse(r.payload);
  const std::string status = j.at("status").get<std::string>();
  FUZZ_CHECK(status == "ok" || status == "rejected" || status == "busy" || status == "error" ||
             status == "expired");
  FUZZ_CHECK(j.at("device") == "meter");
  FUZZ_CHECK(j.at("point") == point);
  const bool bad_bytes = fieldgate::gateway::first_invalid_utf8(command.payload).has_value();
  if (bad_bytes || command.payload.size() > kMaxSize || command.retained || point == "ct_ratio") {
    FUZZ_CHECK(status == "rejected");
    FUZZ_CHECK(rig.writes() == writes_before);
  }
  if (status == "ok") {
    FUZZ_CHECK(rig.writes() == writes_before + 1);
    FUZZ_CHECK(j.at("readback") == j.at("value"));
  }
  if (status == "rejected") FUZZ_CHECK(!j.at("error").get<std::string>().empty());
  return 0;
}
