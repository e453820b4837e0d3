// RetainedSetHook with a fake client: the whole set at connect, the
// difference on replace() (empty retained payloads for removed topics), at
// most 32 unconfirmed, and a trigger flood that resends once per interval.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bridge/retained_set_hook.hpp"

namespace fieldgate::bridge {
namespace {

using namespace std::chrono_literals;

class FakeClient final : public MqttClient {
 public:
  struct Published {
    SessionMessage message;
    CompletionSink* sink = nullptr;
    CompletionTag tag = 0;
  };
  ConnectResult connect(const MqttConnectOptions&, std::chrono::milliseconds,
                        const std::function<bool()>&) override {
    return {true, false, false, {}};
  }
  MqttStatus publish(SessionMessage message, CompletionSink* sink, CompletionTag tag) override {
    published.push_back({std::move(message), sink, tag});
    return {};
  }
  bool publish_and_wait(SessionMessage, std::chrono::milliseconds) override { return true; }
  MqttStatus subscribe(const std::vector<std::string>& topics, int, CompletionSink*,
                       CompletionTag) override {
    for (const auto& t : topics) subscribed.push_back(t);
    return {};
  }
  MqttStatus unsubscribe(const std::vector<std::string>&, CompletionSink*, CompletionTag) override {
    return {};
  }
  void disconnect(std::chrono::milliseconds) override {}
  [[nodiscard]] bool is_connected() const override { return true; }

  /// Confirms everything published so far.
  void confirm_all() {
    for (auto& p : published) {
      if (p.sink != nullptr && !p.message.topic.empty()) p.sink->on_published(p.tag, {true, 0, {}});
      p.sink = nullptr;
    }
  }
  /// Serves the hook until it publishes nothing more, confirming as a broker would.
  void drain(RetainedSetHook& hook) {
    for (std::size_t before = SIZE_MAX; before != published.size();) {
      before = published.size();
      confirm_all();
      hook.service(*this);
    }
  }
  std::vector<Published> published;
  std::vector<std::string> subscribed;
};

RetainedSetHook::Contents contents(int n, std::chrono::milliseconds interval = 1h) {
  RetainedSetHook::Contents c;
  for (int i = 0; i < n; ++i) c.messages["ha/sensor/gw/p" + std::to_string(i) + "/config"] = "{}";
  c.trigger_topic = "ha/status";
  c.resend_interval = interval;
  return c;
}

IncomingMessage status(std::string payload, bool retained = false) {
  return {"ha/status", std::move(payload), 1, retained, std::nullopt};
}

TEST(RetainedSetHookTest, PublishesTheWholeSetRetainedAtConnectAtMost32Unconfirmed) {
  RetainedSetHook hook;
  hook.replace(contents(100));
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  EXPECT_EQ(client.subscribed, std::vector<std::string>{"ha/status"});
  hook.service(client);
  EXPECT_EQ(client.published.size(), 32U);  // the window
  hook.service(client);
  EXPECT_EQ(client.published.size(), 32U);  // nothing confirmed yet
  client.drain(hook);
  EXPECT_EQ(client.published.size(), 100U);
  for (const auto& p : client.published) {
    EXPECT_TRUE(p.message.retain);
    EXPECT_EQ(p.message.payload, "{}");
  }
}

TEST(RetainedSetHookTest, ReplaceDeletesRemovedTopicsAndRepublishesOnlyChangedOnes) {
  RetainedSetHook hook;
  hook.replace(contents(3));
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  client.drain(hook);
  client.published.clear();
  auto next = contents(2);  // p2 removed
  next.messages["ha/sensor/gw/p1/config"] = R"({"changed":true})";
  hook.replace(next);
  client.drain(hook);
  std::map<std::string, std::string> sent;
  for (const auto& p : client.published) sent[p.message.topic] = p.message.payload;
  EXPECT_EQ(sent,
            (std::map<std::string, std::string>{{"ha/sensor/gw/p1/config", R"({"changed":true})"},
                                                {"ha/sensor/gw/p2/config", ""}}));
}

TEST(RetainedSetHookTest, AnUnconfirmedDeletionIsSentAgainAtTheNextConnect) {
  RetainedSetHook hook;
  hook.replace(contents(2));
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  client.drain(hook);
  hook.replace(contents(1));
  hook.service(client);  // the deletion goes out, and the session ends before its PUBACK
  FakeClient next;
  ASSERT_EQ(hook.on_connect(next), "");
  next.drain(hook);
  ASSERT_EQ(next.published.size(), 2U);
  EXPECT_EQ(next.published[0].message.topic, "ha/sensor/gw/p1/config");
  EXPECT_EQ(next.published[0].message.payload, "");
}

TEST(RetainedSetHookTest, AFloodOfOnlineResendsOncePerInterval) {
  RetainedSetHook hook;
  hook.replace(contents(5));
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  client.drain(hook);
  ASSERT_EQ(client.published.size(), 5U);
  EXPECT_FALSE(hook.on_message({"other/topic", "online", 1, false, std::nullopt}));
  EXPECT_TRUE(hook.on_message(status("offline")));
  EXPECT_TRUE(hook.on_message(status("online", true)));  // retained: the broker's memory
  EXPECT_TRUE(hook.on_message(status(std::string(1 << 20, 'x'))));
  client.drain(hook);
  EXPECT_EQ(client.published.size(), 5U);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(hook.on_message(status("online")));
    client.drain(hook);
  }
  EXPECT_EQ(client.published.size(), 10U);  // one resend; the rest wait for the interval
  EXPECT_EQ(hook.resends(), 1U);
}

TEST(RetainedSetHookTest, AfterTheIntervalOneMoreResendIsDue) {
  RetainedSetHook hook;
  hook.replace(contents(2, 1ms));
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  client.drain(hook);
  EXPECT_TRUE(hook.on_message(status("online")));
  client.drain(hook);
  EXPECT_TRUE(hook.on_message(status("online")));
  EXPECT_TRUE(hook.on_message(status("online")));
  std::this_thread::sleep_for(5ms);  // past the interval: the one held back goes out
  client.drain(hook);
  EXPECT_EQ(client.published.size(), 6U);
  EXPECT_EQ(hook.resends(), 2U);
}

TEST(RetainedSetHookTest, AnEmptySetWithoutTriggerDoesNothing) {
  RetainedSetHook hook;
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  client.drain(hook);
  EXPECT_TRUE(client.subscribed.empty());
  EXPECT_TRUE(client.published.empty());
  EXPECT_FALSE(hook.on_message(status("online")));
}

}  // namespace
}  // namespace fieldgate::bridge
