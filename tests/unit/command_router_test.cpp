// The command router with a real Scheduler and a fake driver: one result per
// command, on the point's result topic, for every way a command can end —
// executed, refused at once (retained, too old by its ts), expired by an MQTT 5
// expiry while waiting for the bus, refused while detached (reload), busy —
// and silence for topics that are no commands of this configuration. Hostile
// payloads (not UTF-8, nested 60,000 deep, too large, a ts of INT64_MIN or in
// the future) get a result like any other, and a flood of refusals is
// summarised in the log instead of written line by line.
#include "gateway/command_router.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tests/support/modbus_config.hpp"

namespace fieldgate::gateway {
namespace {

using drivers::Clock;
using Json = nlohmann::json;

class CountingDriver final : public drivers::Driver {
 public:
  const std::string& device() const noexcept override { return name_; }
  const std::string& channel() const noexcept override { return name_; }
  Clock::time_point next_due() const noexcept override { return Clock::time_point::max(); }
  Batch poll(Clock::time_point, bool) override { return {}; }
  void close() noexcept override {}
  const drivers::DeviceHealth& health() const noexcept override { return health_; }
  std::vector<std::string> describe_plan() const override { return {}; }
  drivers::WriteResult write(const std::string&, const Value& value) override {
    ++writes;
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return open_; });
    return {drivers::WriteStatus::kOk, Quality::kGood, {}, value};
  }
  /// While closed, a write waits on the bus.
  void set_gate(bool open) {
    std::lock_guard lock(mutex_);
    open_ = open;
    cv_.notify_all();
  }
  std::atomic<int> writes{0};

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = true;
  std::string name_ = "meter";
  drivers::DeviceHealth health_;
};

class Results {
 public:
  void add(std::string topic, std::string payload) {
    std::lock_guard lock(mutex_);
    items_.emplace_back(std::move(topic), Json::parse(payload));
    cv_.notify_all();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return items_.size() >= n; });
  }
  std::pair<std::string, Json> at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return items_.at(i);
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, Json>> items_;
};

struct Rig {
  Rig() : Rig(CommandRouter::RefusalLogLimit{}) {}
  explicit Rig(CommandRouter::RefusalLogLimit limit) : router(publish(), limit) {
    config.gateway.name = "gw";
    config::DeviceConfig device;
    device.name = "meter";
    device.driver = "modbus-tcp";
    config::PointConfig setpoint = test_support::modbus_point(
        "setpoint", modbus::RegisterKind::kHolding, 0, modbus::ValueType::kInt16);
    setpoint.edit_write().writable = true;
    setpoint.edit_write().max = 30;
    device.points.push_back(setpoint);
    config::PointConfig ratio;
    ratio.name = "ct_ratio";
    device.points.push_back(ratio);
    config::PointConfig label = test_support::modbus_point("label", modbus::RegisterKind::kHolding,
                                                           0, modbus::ValueType::kString, 4);
    label.value_kind = config::ValueKind::kString;
    label.edit_write().writable = true;
    device.points.push_back(label);
    config.mqtt.command_max_size = 1024;
    config.devices.push_back(device);
    auto owned = std::make_unique<CountingDriver>();
    driver = owned.get();
    std::vector<std::unique_ptr<drivers::Driver>> drivers;
    drivers.push_back(std::move(owned));
    scheduler = std::make_unique<Scheduler>(config, std::move(drivers), [](Batch&&) {});
    scheduler->start();
    router.attach(config, *scheduler);
  }
  ~Rig() {
    router.detach();
    scheduler->stop();
  }

  void send(const std::string& topic, const std::string& payload, bool retained = false,
            std::optional<std::chrono::seconds> expiry = std::nullopt) {
    router.handle(bridge::IncomingCommand{topic, payload, std::chrono::steady_clock::now(), expiry,
                                          retained});
  }

  CommandRouter::Publish publish() {
    return [this](std::string topic, std::string payload, int) {
      results.add(std::move(topic), std::move(payload));
    };
  }

  config::Config config;
  Results results;
  CommandRouter router;
  CountingDriver* driver = nullptr;
  std::unique_ptr<Scheduler> scheduler;
};

const std::string kSet = "fieldgate/gw/meter/setpoint/set";
const std::string kResult = "fieldgate/gw/meter/setpoint/set/result";
const std::string kLabelSet = "fieldgate/gw/meter/label/set";

/// Runs `f` on a thread with a small stack, as a library's callback thread
/// may have: deep recursion there is a crash, not a slow test.
void on_small_stack(const std::function<void()>& f) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  // `f` outlives the thread: joined below.
  const int rc = pthread_create(
      &thread, &attr,
      [](void* arg) -> void* {
        (*static_cast<const std::function<void()>*>(arg))();
        return nullptr;
      },
      const_cast<std::function<void()>*>(&f));
  pthread_attr_destroy(&attr);
  ASSERT_EQ(rc, 0);
  pthread_join(thread, nullptr);
}

/// The default logger's lines in memory while it lives.
class LogLines {
 public:
  LogLines()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)),
        previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  ~LogLines() { spdlog::set_default_logger(previous_); }
  LogLines(const LogLines&) = delete;
  LogLines& operator=(const LogLines&) = delete;
  /// Lines that start with `prefix`.
  std::size_t starting(const std::string& prefix) const {
    std::size_t n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.rfind(prefix, 0) == 0;
    return n;
  }
  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.find(needle) != std::string::npos;
    return n;
  }
  std::vector<std::string> lines() const { return sink_->last_formatted(); }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(CommandRouterTest, SubscribesOnlyWritablePoints) {
  Rig rig;
  EXPECT_EQ(rig.router.command_topics(), (std::vector<std::string>{kLabelSet, kSet}));
}

TEST(CommandRouterTest, AnExecutedCommandIsAnsweredOnItsResultTopic) {
  Rig rig;
  rig.send(kSet, R"({"value": 21, "id": 7, "ts": )" + std::to_string(now_ms()) + "}");
  ASSERT_TRUE(rig.results.wait_for(1));
  const auto [topic, r] = rig.results.at(0);
  EXPECT_EQ(topic, kResult);
  EXPECT_EQ(r.at("status"), "ok");
  EXPECT_EQ(r.at("id"), 7);
  EXPECT_EQ(r.at("readback"), 21);
  EXPECT_EQ(rig.driver->writes, 1);
}

TEST(CommandRouterTest, RefusalsNeverReachTheDriver) {
  Rig rig;
  rig.send(kSet, "21", /*retained=*/true);
  rig.send(kSet, R"({"value": 21, "ts": )" + std::to_string(now_ms() - 60'000) + "}");
  rig.send(kSet, "31");
  ASSERT_TRUE(rig.results.wait_for(3));
  EXPECT_EQ(rig.results.at(0).second.at("status"), "rejected");
  EXPECT_NE(rig.results.at(0).second.at("error").get<std::string>().find("retained"),
            std::string::npos);
  EXPECT_EQ(rig.results.at(1).second.at("status"), "expired");
  EXPECT_EQ(rig.results.at(2).second.at("status"), "rejected");
  EXPECT_EQ(rig.driver->writes, 0);
}

TEST(CommandRouterTest, AnMqtt5ExpiryShorterThanMaxAgeWins) {
  Rig rig;
  // An expiry of 0 s left: due at its arrival, past by the time the worker looks.
  rig.send(kSet, "21", false, std::chrono::seconds(0));
  ASSERT_TRUE(rig.results.wait_for(1));
  EXPECT_EQ(rig.results.at(0).second.at("status"), "expired");
  EXPECT_EQ(rig.driver->writes, 0);
}

TEST(CommandRouterTest, DetachedMeansErrorAndUnknownTopicsMeanSilence) {
  Rig rig;
  rig.send("fieldgate/gw/meter/voltage/set", "1");
  rig.router.detach();
  rig.send(kSet, "21");
  ASSERT_TRUE(rig.results.wait_for(1));
  EXPECT_EQ(rig.results.at(0).second.at("status"), "error");
  EXPECT_EQ(rig.results.size(), 1u);
  EXPECT_EQ(rig.driver->writes, 0);
}

TEST(CommandRouterTest, ANonWritablePointStillGetsAnAnswer) {
  // A subscription left on the broker (persistent session, reload race).
  Rig rig;
  rig.send("fieldgate/gw/meter/ct_ratio/set", "5");
  ASSERT_TRUE(rig.results.wait_for(1));
  EXPECT_EQ(rig.results.at(0).first, "fieldgate/gw/meter/ct_ratio/set/result");
  EXPECT_EQ(rig.results.at(0).second.at("status"), "rejected");
  EXPECT_EQ(rig.driver->writes, 0);
}

TEST(CommandRouterTest, PayloadsThatAreNotUtf8AreRejectedWithAResult) {
  // Found in issue 14: to a string point the bytes were written, and encoding
  // the result threw on the worker thread (the gateway aborted); to a number
  // point the exception was caught and no result was published at all.
  Rig rig;
  rig.send(kLabelSet, "\xff\xfe");
  rig.send(kSet, "{\"value\": \"\xe9\", \"id\": \"u1\"}");
  ASSERT_TRUE(rig.results.wait_for(2));
  for (std::size_t i = 0; i < 2; ++i) {
    const auto r = rig.results.at(i).second;
    EXPECT_EQ(r.at("status"), "rejected") << r.dump();
    EXPECT_NE(r.at("error").get<std::string>().find("not valid UTF-8"), std::string::npos);
  }
  EXPECT_EQ(rig.results.at(0).first, kLabelSet + "/result");
  EXPECT_EQ(rig.driver->writes, 0);
  // Valid text still reaches a string point.
  rig.send(kLabelSet, "Zürich");
  ASSERT_TRUE(rig.results.wait_for(3));
  EXPECT_EQ(rig.results.at(2).second.at("status"), "ok");
}

TEST(CommandRouterTest, AnIdNested60000DeepIsRejectedOnASmallStack) {
  // Found in issue 14: copying and destroying such an "id" recursed once per
  // level and overflowed the MQTT client thread's stack.
  Rig rig;
  rig.config.mqtt.command_max_size = 1024 * 1024;  // the largest allowed: the payload fits
  rig.router.attach(rig.config, *rig.scheduler);
  const std::string payload =
      R"({"value": 21, "id": )" + std::string(60'000, '[') + std::string(60'000, ']') + "}";
  on_small_stack([&] { rig.send(kSet, payload); });
  ASSERT_TRUE(rig.results.wait_for(1));
  const auto r = rig.results.at(0).second;
  EXPECT_EQ(r.at("status"), "rejected");
  EXPECT_EQ(r.at("error"), "JSON nested deeper than 32 levels");
  EXPECT_EQ(rig.driver->writes, 0);
}

TEST(CommandRouterTest, APayloadOverCommandMaxSizeIsRejected) {
  Rig rig;  // command_max_size = 1024
  rig.send(kLabelSet, std::string(1025, 'a'));
  ASSERT_TRUE(rig.results.wait_for(1));
  const auto r = rig.results.at(0).second;
  EXPECT_EQ(r.at("status"), "rejected");
  EXPECT_EQ(r.at("error"), "payload of 1025 bytes is larger than command_max_size (1024 bytes)");
  EXPECT_TRUE(r.at("value").is_null()) << "nothing of it is echoed";
  EXPECT_EQ(rig.driver->writes, 0);
}

TEST(CommandRouterTest, ATsOfInt64MinOrInTheFutureIsRefused) {
  // Found in issue 14: INT64_MIN overflowed the age check and a ts in the
  // future counted as fresh; both were executed.
  Rig rig;
  rig.send(kSet, R"({"value": 21, "ts": )" +
                     std::to_string(std::numeric_limits<std::int64_t>::min()) + "}");
  rig.send(kSet, R"({"value": 21, "ts": )" + std::to_string(now_ms() + 3'600'000) + "}");
  ASSERT_TRUE(rig.results.wait_for(2));
  EXPECT_EQ(rig.results.at(0).second.at("status"), "expired");
  EXPECT_EQ(rig.results.at(1).second.at("status"), "rejected");
  EXPECT_NE(rig.results.at(1).second.at("error").get<std::string>().find("clock skew"),
            std::string::npos);
  EXPECT_EQ(rig.driver->writes, 0);
  // Within the allowed skew: a clock a little ahead is not an attack.
  rig.send(kSet, R"({"value": 21, "ts": )" + std::to_string(now_ms() + 1'000) + "}");
  ASSERT_TRUE(rig.results.wait_for(3));
  EXPECT_EQ(rig.results.at(2).second.at("status"), "ok");
  EXPECT_EQ(rig.driver->writes, 1);
}

TEST(CommandRouterTest, AFullBusQueueAnswersBusyAtOnce) {
  Rig rig;
  rig.driver->set_gate(false);
  rig.send(kSet, R"({"value": 1, "id": "first"})");  // on the bus, waiting for the device
  ASSERT_TRUE([&] {
    for (int i = 0; i < 1000 && rig.driver->writes == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return rig.driver->writes == 1;
  }());
  const std::size_t extra = 3;
  for (std::size_t i = 0; i < kMaxQueuedWrites + extra; ++i) rig.send(kSet, "2");
  // Answered while the bus is still blocked: at once, not after the queue.
  const bool answered = rig.results.wait_for(extra);
  rig.driver->set_gate(true);
  ASSERT_TRUE(answered);
  for (std::size_t i = 0; i < extra; ++i) {
    const auto r = rig.results.at(i).second;
    EXPECT_EQ(r.at("status"), "busy") << r.dump();
  }
  ASSERT_TRUE(rig.results.wait_for(extra + 1 + kMaxQueuedWrites));
  std::size_t ok = 0;
  for (std::size_t i = 0; i < rig.results.size(); ++i) {
    ok += rig.results.at(i).second.at("status") == "ok";
  }
  EXPECT_EQ(ok, kMaxQueuedWrites + 1);
  EXPECT_EQ(rig.driver->writes, static_cast<int>(kMaxQueuedWrites + 1));
}

TEST(CommandRouterTest, AFloodOfRefusalsIsSummarisedNotLoggedLineByLine) {
  LogLines log;
  {
    Rig rig(CommandRouter::RefusalLogLimit{3, std::chrono::hours(1)});
    for (int i = 0; i < 10; ++i) rig.send(kSet, "99");
    ASSERT_TRUE(rig.results.wait_for(10)) << "every command still gets its result";
    EXPECT_EQ(log.starting("write meter/setpoint = 99"), 3u);
    rig.router.flush_log(std::chrono::steady_clock::now());  // within the window: nothing yet
    EXPECT_EQ(log.count("more refused"), 0u);
    rig.router.flush_log(std::chrono::steady_clock::now() + std::chrono::hours(2));
    EXPECT_EQ(log.count("commands: 7 more refused in the last"), 1u);
    EXPECT_EQ(log.count("(7 rejected); the last: write meter/setpoint = 99"), 1u);
    // A new window logs again.
    rig.send(kSet, "99");
    ASSERT_TRUE(rig.results.wait_for(11));
    EXPECT_EQ(log.starting("write meter/setpoint = 99"), 4u);
  }
  EXPECT_EQ(log.count("more refused"), 1u) << "nothing left to summarise";
}

}  // namespace
}  // namespace fieldgate::gateway
