// Proof of the session seam (docs/ARCHITECTURE.md, "Adding a payload format
// or session hook"): a hook that lives only in this file, handed to the
// forwarder with one line, is told of the session's connect, messages and
// clean stop by a real mosquitto — with no file in config/, bridge/,
// gateway/ or core/ touched for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bridge/forwarder.hpp"
#include "bridge/session_hook.hpp"
#include "tests/support/fake_store.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHello = "proof/hello";
constexpr const char* kPing = "proof/ping";
constexpr const char* kPong = "proof/pong";
constexpr const char* kBye = "proof/bye";

// On connect: a retained "hello <n>" (n counts this hook's sessions) and a
// subscription to kPing. Each ping is answered on kPong from service(), on
// the forwarder thread, the only one that calls into the client. On a clean
// stop: "bye".
class PingHook final : public bridge::SessionHook {
 public:
  std::string on_connect(bridge::MqttClient& client) override {
    if (const auto status =
            client.publish({kHello, "hello " + std::to_string(++sessions_), 1, true});
        !status.ok()) {
      return status.error;
    }
    return client.subscribe({kPing}, 1).error;
  }
  void service(bridge::MqttClient& client) override {
    std::vector<std::string> pings;
    {
      std::lock_guard lock(mutex_);
      pings.swap(pings_);
    }
    for (auto& ping : pings) (void)client.publish({kPong, "pong " + ping, 1, false});
  }
  bool on_message(const bridge::IncomingMessage& message) noexcept override {
    if (message.topic != kPing) return false;
    std::lock_guard lock(mutex_);
    pings_.push_back(message.payload);
    return true;
  }
  void on_close(bridge::MqttClient& client) override {
    client.publish_and_wait({kBye, "bye", 1, true}, 2s);
  }

 private:
  int sessions_ = 0;  // forwarder thread only
  std::mutex mutex_;
  std::vector<std::string> pings_;
};

TEST(CustomSessionHookTest, AHookIsToldOfConnectMessagesAndStop) {
  ScratchDir dir;
  Mosquitto broker(dir.path());
  FakeStore store;
  config::Config c = mqtt_config(broker.uri());
  add_device(c, "meter", {"a"});

  bridge::ForwarderParts parts;
  parts.hooks.push_back(std::make_unique<PingHook>());  // the one registration line

  Subscriber sub(broker.uri(), "proof/#", 1);
  std::atomic<int> commands{0};
  {
    ForwarderRig fw(c, store, std::move(parts));
    // The command channel is asked after the hook: it never sees the pings.
    fw->set_command_handler([&](const bridge::IncomingCommand&) { ++commands; });
    fw->start();
    ASSERT_TRUE(wait_until([&] { return fw->stats().connected; }, 10s));
    ASSERT_TRUE(sub.wait_for(1, 10s));
    EXPECT_EQ(sub.messages().at(0).topic, kHello);
    EXPECT_EQ(sub.messages().at(0).payload, "hello 1");

    // The subscription is made on connect; a ping may race it: send until answered.
    mqtt::async_client pinger(broker.uri(), "pinger");
    pinger.connect()->wait();
    ASSERT_TRUE(wait_until(
        [&] {
          pinger.publish(mqtt::make_message(kPing, "42", 1, false))->wait();
          return wait_until(
              [&] {
                for (const auto& m : sub.messages()) {
                  if (m.topic == kPong) return true;
                }
                return false;
              },
              300ms);
        },
        10s));
    pinger.disconnect()->wait();

    // Readings still flow, and a message the hook takes is no command.
    store.append(make_poll("meter", {"a"}, 1.0));
    ASSERT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 10s));
    EXPECT_EQ(commands.load(), 0);
    fw->stop(1s);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& m : sub.messages()) {
          if (m.topic == kBye) return true;
        }
        return false;
      },
      5s));
  std::vector<std::string> pongs;
  for (const auto& m : sub.messages()) {
    if (m.topic == kPong) pongs.push_back(m.payload);
  }
  EXPECT_THAT(pongs, ::testing::Each(::testing::Eq("pong 42")));
}

}  // namespace
}  // namespace fieldgate::testing
