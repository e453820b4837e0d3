// The command router with a real Scheduler and a fake driver: one result per
// command, on the point's result topic, for every way a command can end —
// executed, refused at once (retained, too old by its ts), expired by an MQTT 5
// expiry while waiting for the bus, refused while detached (reload) — and
// silence for topics that are no commands of this configuration.
#include "gateway/command_router.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

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
    return {drivers::WriteStatus::kOk, Quality::kGood, {}, value};
  }
  std::atomic<int> writes{0};

 private:
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
  Rig() {
    config.gateway.name = "gw";
    config::DeviceConfig device;
    device.name = "meter";
    device.driver = "modbus-tcp";
    config::PointConfig setpoint;
    setpoint.name = "setpoint";
    setpoint.type = config::ValueType::kInt16;
    setpoint.write.writable = true;
    setpoint.write.max = 30;
    device.points.push_back(setpoint);
    config::PointConfig ratio;
    ratio.name = "ct_ratio";
    device.points.push_back(ratio);
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

  config::Config config;
  Results results;
  CommandRouter router{[this](std::string topic, std::string payload, int) {
    results.add(std::move(topic), std::move(payload));
  }};
  CountingDriver* driver = nullptr;
  std::unique_ptr<Scheduler> scheduler;
};

const std::string kSet = "fieldgate/gw/meter/setpoint/set";
const std::string kResult = "fieldgate/gw/meter/setpoint/set/result";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(CommandRouterTest, SubscribesOnlyWritablePoints) {
  Rig rig;
  EXPECT_EQ(rig.router.command_topics(), std::vector<std::string>{kSet});
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

}  // namespace
}  // namespace fieldgate::gateway
