// RetainedSetHook with a fake client: the whole set at connect, the
// difference on replace() (empty retained payloads for removed topics), at
// most 32 unconfirmed, and a trigger flood that resends once per interval.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bridge/retained_set_hook.hpp"
#include "tests/support/fake_mqtt_client.hpp"

namespace fieldgate::bridge {
namespace {

using namespace std::chrono_literals;

using FakeClient = testing::FakeMqttClient;

/// Serves the hook until it publishes nothing more, confirming as a broker would.
void drain(FakeClient& client, RetainedSetHook& hook) {
  for (std::size_t before = SIZE_MAX; before != client.published.size();) {
    before = client.published.size();
    client.confirm_all();
    hook.service(client);
  }
}

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
  drain(client, hook);
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
  drain(client, hook);
  client.published.clear();
  auto next = contents(2);  // p2 removed
  next.messages["ha/sensor/gw/p1/config"] = R"({"changed":true})";
  hook.replace(next);
  drain(client, hook);
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
  drain(client, hook);
  hook.replace(contents(1));
  hook.service(client);  // the deletion goes out, and the session ends before its PUBACK
  FakeClient next;
  ASSERT_EQ(hook.on_connect(next), "");
  drain(next, hook);
  ASSERT_EQ(next.published.size(), 2U);
  EXPECT_EQ(next.published[0].message.topic, "ha/sensor/gw/p1/config");
  EXPECT_EQ(next.published[0].message.payload, "");
}

TEST(RetainedSetHookTest, AFloodOfOnlineResendsOncePerInterval) {
  RetainedSetHook hook;
  hook.replace(contents(5));
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  drain(client, hook);
  ASSERT_EQ(client.published.size(), 5U);
  EXPECT_FALSE(hook.on_message({"other/topic", "online", 1, false, std::nullopt}));
  EXPECT_TRUE(hook.on_message(status("offline")));
  EXPECT_TRUE(hook.on_message(status("online", true)));  // retained: the broker's memory
  EXPECT_TRUE(hook.on_message(status(std::string(1 << 20, 'x'))));
  drain(client, hook);
  EXPECT_EQ(client.published.size(), 5U);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(hook.on_message(status("online")));
    drain(client, hook);
  }
  EXPECT_EQ(client.published.size(), 10U);  // one resend; the rest wait for the interval
  EXPECT_EQ(hook.resends(), 1U);
}

TEST(RetainedSetHookTest, AfterTheIntervalOneMoreResendIsDue) {
  RetainedSetHook hook;
  hook.replace(contents(2, 1ms));
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  drain(client, hook);
  EXPECT_TRUE(hook.on_message(status("online")));
  drain(client, hook);
  EXPECT_TRUE(hook.on_message(status("online")));
  EXPECT_TRUE(hook.on_message(status("online")));
  std::this_thread::sleep_for(5ms);  // past the interval: the one held back goes out
  drain(client, hook);
  EXPECT_EQ(client.published.size(), 6U);
  EXPECT_EQ(hook.resends(), 2U);
}

TEST(RetainedSetHookTest, AnEmptySetWithoutTriggerDoesNothing) {
  RetainedSetHook hook;
  FakeClient client;
  ASSERT_EQ(hook.on_connect(client), "");
  drain(client, hook);
  EXPECT_TRUE(client.subscribed.empty());
  EXPECT_TRUE(client.published.empty());
  EXPECT_FALSE(hook.on_message(status("online")));
}

}  // namespace
}  // namespace fieldgate::bridge
