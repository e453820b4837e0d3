// The MQTT client seam (bridge/mqtt_client.hpp) itself, against a real
// mosquitto, for each client library ([mqtt] client = "paho" | "mosquitto")
// and each protocol (3.1.1, 5): what the forwarder relies on — every
// completion reported with its tag, SUBACKs, arriving messages with their
// retained flag and expiry, the Last Will on an abnormal close, a lost
// connection reported and never reconnected by the client itself, refusals
// and cancelled connects said in words.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "bridge/mqtt_client.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using bridge::CompletionTag;
using ::testing::HasSubstr;

struct ClientCase {
  config::MqttClientLibrary library;
  int protocol;
};

std::string case_name(const ::testing::TestParamInfo<ClientCase>& info) {
  return std::string(config::to_string(info.param.library)) +
         (info.param.protocol == 5 ? "_mqtt5" : "_mqtt311");
}

// Completions as the client reports them, on its own thread.
class RecordingSink final : public bridge::CompletionSink {
 public:
  void on_published(CompletionTag tag, const bridge::Delivery& delivery) noexcept override {
    std::lock_guard lock(mutex_);
    published_[tag] = delivery;
    cv_.notify_all();
  }
  void on_subscribed(CompletionTag tag, const bridge::SubscribeOutcome& outcome) noexcept override {
    std::lock_guard lock(mutex_);
    subscribed_[tag] = outcome;
    cv_.notify_all();
  }
  bool wait_published(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return published_.size() >= n; });
  }
  bool wait_subscribed(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return subscribed_.size() >= n; });
  }
  std::map<CompletionTag, bridge::Delivery> published() {
    std::lock_guard lock(mutex_);
    return published_;
  }
  std::map<CompletionTag, bridge::SubscribeOutcome> subscribed() {
    std::lock_guard lock(mutex_);
    return subscribed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<CompletionTag, bridge::Delivery> published_;
  std::map<CompletionTag, bridge::SubscribeOutcome> subscribed_;
};

class MqttClientTest : public ::testing::TestWithParam<ClientCase> {
 protected:
  // The client under test, its callbacks recorded.
  std::unique_ptr<bridge::MqttClient> make_client(const bridge::MqttConnectOptions& options) {
    config::MqttConfig mqtt;
    mqtt.client = GetParam().library;
    bridge::MqttCallbacks callbacks;
    callbacks.connection_lost = [this](const std::string& cause) {
      std::lock_guard lock(mutex_);
      lost_.push_back(cause);
    };
    callbacks.message_arrived = [this](const bridge::IncomingMessage& message) {
      std::lock_guard lock(mutex_);
      arrived_.push_back(message);
    };
    return bridge::detail::make_mqtt_client(mqtt, options, std::move(callbacks));
  }

  bridge::MqttConnectOptions options(int port, const std::string& id = "client-under-test") {
    bridge::MqttConnectOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.client_id = id;
    o.protocol = GetParam().protocol;
    o.keepalive = 10s;
    o.connect_timeout = 3000ms;
    if (o.protocol == 5) o.maximum_packet_size = 1024 * 1024;
    return o;
  }

  std::vector<std::string> lost() {
    std::lock_guard lock(mutex_);
    return lost_;
  }
  std::vector<bridge::IncomingMessage> arrived() {
    std::lock_guard lock(mutex_);
    return arrived_;
  }

  ScratchDir dir_;
  std::mutex mutex_;
  std::vector<std::string> lost_;
  std::vector<bridge::IncomingMessage> arrived_;
};

TEST_P(MqttClientTest, EveryPublishIsReportedWithItsTagAtEachQos) {
  Mosquitto broker(dir_.path());
  Subscriber sub(broker.uri(), "seam/#", 2);
  ASSERT_TRUE(sub.wait_connected(10s));
  const auto o = options(broker.port());
  auto client = make_client(o);
  const auto connected = client->connect(o, 5s, {});
  ASSERT_TRUE(connected.connected) << connected.error;
  EXPECT_FALSE(connected.session_present);
  EXPECT_TRUE(client->is_connected());

  RecordingSink sink;
  // In batches: mosquitto disconnects a client with more than 20 QoS 2
  // messages open (the forwarder's max_inflight_qos2).
  constexpr int kMessages = 300;
  constexpr int kBatch = 30;
  for (int i = 0; i < kMessages; ++i) {
    const auto status =
        client->publish({"seam/q" + std::to_string(i % 3), std::to_string(i), i % 3, false}, &sink,
                        static_cast<CompletionTag>(1000 + i));
    ASSERT_TRUE(status.ok()) << status.error;
    if ((i + 1) % kBatch == 0) {
      ASSERT_TRUE(sink.wait_published(static_cast<std::size_t>(i + 1), 10s))
          << sink.published().size();
    }
  }
  for (const auto& [tag, delivery] : sink.published()) {
    EXPECT_TRUE(delivery.delivered) << tag << ": " << delivery.error;
  }
  ASSERT_TRUE(sub.wait_for(kMessages, 20s));
  // Order per topic holds at each QoS.
  std::map<std::string, int> last;
  for (const auto& m : sub.messages()) {
    const int n = std::stoi(m.payload);
    if (last.count(m.topic) != 0) {
      EXPECT_GT(n, last[m.topic]) << m.topic;
    }
    last[m.topic] = n;
  }
  EXPECT_TRUE(client->publish_and_wait({"seam/wait", "w", 1, false}, 5s));
  client->disconnect(1s);
  EXPECT_FALSE(client->is_connected());
  EXPECT_TRUE(lost().empty());  // a disconnect we asked for is not a lost connection
}

TEST_P(MqttClientTest, SubscribesAndReceivesRetainedMessagesWithTheirExpiry) {
  Mosquitto broker(dir_.path());
  Publisher pub(broker.uri());
  pub.publish("cmd/a", "retained-one", 1, true, GetParam().protocol == 5 ? 600 : -1);
  const auto o = options(broker.port());
  auto client = make_client(o);
  ASSERT_TRUE(client->connect(o, 5s, {}).connected);
  RecordingSink sink;
  ASSERT_TRUE(client->subscribe({"cmd/a", "cmd/b"}, 1, &sink, 7).ok());
  ASSERT_TRUE(sink.wait_subscribed(1, 5s));
  const auto outcome = sink.subscribed().at(7);
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_FALSE(outcome.unsubscribe);
  EXPECT_EQ(outcome.topics, 2U);
  EXPECT_EQ(outcome.granted, 2U);
  ASSERT_TRUE(wait_until([&] { return arrived().size() == 1; }, 5s));
  const auto retained = arrived().at(0);
  EXPECT_EQ(retained.topic, "cmd/a");
  EXPECT_EQ(retained.payload, "retained-one");
  EXPECT_TRUE(retained.retained);
  EXPECT_EQ(retained.qos, 1);
  if (GetParam().protocol == 5) {
    ASSERT_TRUE(retained.expiry.has_value());
    EXPECT_GT(retained.expiry->count(), 500);
    EXPECT_LE(retained.expiry->count(), 600);
  } else {
    EXPECT_FALSE(retained.expiry.has_value());
  }
  pub.publish("cmd/b", "live", 2);
  ASSERT_TRUE(wait_until([&] { return arrived().size() == 2; }, 5s));
  EXPECT_EQ(arrived().at(1).payload, "live");
  EXPECT_FALSE(arrived().at(1).retained);

  ASSERT_TRUE(client->unsubscribe({"cmd/b"}, &sink, 8).ok());
  ASSERT_TRUE(sink.wait_subscribed(2, 5s));
  EXPECT_TRUE(sink.subscribed().at(8).unsubscribe);
  EXPECT_TRUE(sink.subscribed().at(8).ok);
  pub.publish("cmd/b", "after", 1);
  pub.publish("cmd/a", "still", 1);
  ASSERT_TRUE(wait_until([&] { return arrived().size() == 3; }, 5s));
  EXPECT_EQ(arrived().at(2).payload, "still");
}

TEST_P(MqttClientTest, ALostConnectionIsReportedAndNeverResumedByTheClient) {
  Mosquitto broker(dir_.path());
  Subscriber sub(broker.uri(), "status", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  TcpProxy proxy(broker.port());
  auto o = options(proxy.port());
  o.will = bridge::SessionMessage{"status", "offline", 1, false};
  auto client = make_client(o);
  ASSERT_TRUE(client->connect(o, 5s, {}).connected);
  proxy.reset();  // abnormal close: the broker sends the will
  ASSERT_TRUE(wait_until([&] { return !lost().empty(); }, 10s));
  EXPECT_FALSE(client->is_connected());
  ASSERT_TRUE(sub.wait_for(1, 10s));
  EXPECT_EQ(sub.messages().at(0).payload, "offline");
  const int accepted = proxy.accepted();
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(proxy.accepted(), accepted) << "the client reconnected by itself";
  EXPECT_FALSE(client->is_connected());
  EXPECT_FALSE(client->publish({"x", "y", 1, false}).ok());

  // The forwarder's reconnect: the same client connects again.
  ASSERT_TRUE(client->connect(o, 5s, {}).connected);
  RecordingSink sink;
  ASSERT_TRUE(client->publish({"status", "online", 1, false}, &sink, 1).ok());
  ASSERT_TRUE(sink.wait_published(1, 5s));
  EXPECT_TRUE(sink.published().at(1).delivered);
  client->disconnect(1s);
  ASSERT_TRUE(sub.wait_for(2, 5s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(sub.messages().size(), 2U) << "a clean disconnect sent the will";
}

TEST_P(MqttClientTest, RefusedCredentialsAreSaidInWords) {
  BrokerOptions bo;
  bo.username = "user";
  bo.password = "right";
  Mosquitto broker(dir_.path(), bo);
  auto o = options(broker.port());
  o.username = "user";
  o.password = "wrong";
  auto client = make_client(o);
  const auto result = client->connect(o, 5s, {});
  EXPECT_FALSE(result.connected);
  EXPECT_THAT(result.error, HasSubstr("the broker refused the connection"));
  EXPECT_THAT(result.error, HasSubstr("check mqtt.username and the password"));
  if (GetParam().protocol == 5) {
    EXPECT_THAT(result.error, ::testing::AnyOf(HasSubstr("Not authorized"),
                                               HasSubstr("Bad user name or password")));
  } else {
    EXPECT_THAT(result.error, HasSubstr("not authorized"));
  }
  o.password = "right";
  const auto ok = client->connect(o, 5s, {});
  EXPECT_TRUE(ok.connected) << ok.error;
}

TEST_P(MqttClientTest, AClosedPortIsNamedAndASilentOneCanBeGivenUp) {
  const int closed = free_loopback_port();
  auto o = options(closed);
  auto client = make_client(o);
  const auto refused = client->connect(o, 5s, {});
  EXPECT_FALSE(refused.connected);
  EXPECT_THAT(refused.error, HasSubstr("refused"));

  // Accepts TCP, never answers: the connect is cancelled by give_up, quickly.
  Mosquitto broker(dir_.path());
  TcpProxy proxy(broker.port());
  proxy.set_blackhole(true);
  o.port = proxy.port();
  o.connect_timeout = 20s;
  client = make_client(o);  // Paho fixes the address when the client is made
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    stop = true;
  });
  const auto start = std::chrono::steady_clock::now();
  const auto cancelled = client->connect(o, 20s, [&] { return stop.load(); });
  stopper.join();
  EXPECT_TRUE(cancelled.cancelled);
  EXPECT_FALSE(cancelled.connected);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  client->disconnect(0ms);
  EXPECT_FALSE(client->is_connected());
}

INSTANTIATE_TEST_SUITE_P(Clients, MqttClientTest,
                         ::testing::Values(ClientCase{config::MqttClientLibrary::kPaho, 4},
                                           ClientCase{config::MqttClientLibrary::kPaho, 5},
                                           ClientCase{config::MqttClientLibrary::kMosquitto, 4},
                                           ClientCase{config::MqttClientLibrary::kMosquitto, 5}),
                         case_name);

}  // namespace
}  // namespace fieldgate::testing
