// Messages no client or broker takes (issue 14: B7, C10, C11), against a real
// mosquitto: a topic that is not UTF-8 or longer than MQTT allows, a payload
// over max_payload, a message the broker itself refuses. Each is dead-lettered
// once, the readings behind it are delivered, and the session stays up.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "bridge/forwarder.hpp"
#include "bridge/store.hpp"
#include "tests/support/fake_store.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint64_t> delivered_seqs(const Subscriber& sub) {
  std::vector<std::uint64_t> out;
  for (const auto& m : sub.messages()) {
    if (m.topic.find("/status") == std::string::npos) out.push_back(seq_of(m));
  }
  return out;
}

std::vector<std::uint64_t> dead_seqs(const FakeStore& store) {
  std::vector<std::uint64_t> out;
  for (const auto& letter : store.dead_letters()) out.push_back(letter.seq);
  return out;
}

/// The forwarder after `store` held `readings`: waits until every reading
/// left the store (delivered or dead-lettered), then checks that the session
/// did not break more than `reconnects` times and no error is left behind.
void expect_session_kept(ForwarderRig& fw, FakeStore& store, std::uint64_t reconnects = 0) {
  ASSERT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 20s))
      << store.stats().rows << " readings stuck behind a message no broker takes";
  const auto stats = fw->stats();
  EXPECT_TRUE(stats.connected);
  EXPECT_LE(stats.reconnects, reconnects) << stats.last_error;
  EXPECT_EQ(stats.connect_failures, 0u);
  EXPECT_EQ(stats.last_error, "");
}

class ForwarderDeadLetterTest : public ::testing::Test {
 protected:
  ScratchDir dir_;
  Mosquitto broker_{dir_.path()};
  FakeStore store_;  // takes rows as they come: a buffer another tool wrote
};

TEST_F(ForwarderDeadLetterTest, ATopicThatIsNotUtf8IsDeadLetteredAndTheRowsBehindAreDelivered) {
  config::Config c = mqtt_config(broker_.uri());
  add_device(c, "meter", {"v"});
  Subscriber sub(broker_.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  store_.append(make_poll("meter", {"v"}, 1.0));     // seq 1
  store_.append(make_poll("m\xE9ter", {"v"}, 2.0));  // seq 2: Latin-1 device
  store_.append(make_poll("meter", {"v"}, 3.0));     // seq 3
  LogCapture log;
  {
    ForwarderRig fw(c, store_);
    fw->start();
    expect_session_kept(fw, store_);
    EXPECT_EQ(fw->stats().dead_lettered, 1u);
    store_.append(make_poll("m\xE9ter", {"v"}, 4.0));  // seq 4: the same again, logged once
    store_.append(make_poll("meter", {"v"}, 5.0));     // seq 5
    expect_session_kept(fw, store_);
  }
  ASSERT_TRUE(wait_until([&] { return delivered_seqs(sub).size() >= 3; }, 10s));
  EXPECT_EQ(delivered_seqs(sub), (std::vector<std::uint64_t>{1, 3, 5}));
  EXPECT_EQ(dead_seqs(store_), (std::vector<std::uint64_t>{2, 4}));
  EXPECT_NE(store_.dead_letters().at(0).reason.find("not valid UTF-8"), std::string::npos)
      << store_.dead_letters().at(0).reason;
  EXPECT_TRUE(is_valid_utf8(store_.dead_letters().at(0).reason));
  const auto text = log.text();
  std::size_t logged = 0;
  for (auto pos = text.find("cannot be published"); pos != std::string::npos;
       pos = text.find("cannot be published", pos + 1)) {
    ++logged;
  }
  EXPECT_EQ(logged, 1u) << text;
}

TEST_F(ForwarderDeadLetterTest, ATopicLongerThanMqttAllowsIsDeadLetteredNotATornDownSession) {
  config::Config c = mqtt_config(broker_.uri());
  const std::string long_point(70'000, 'p');
  add_device(c, "meter", {"v", long_point});
  Subscriber sub(broker_.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  for (int i = 0; i < 3; ++i) store_.append(make_poll("meter", {"v", long_point}, i * 10.0));
  ForwarderRig fw(c, store_);
  fw->start();
  expect_session_kept(fw, store_);
  EXPECT_EQ(dead_seqs(store_), (std::vector<std::uint64_t>{2, 4, 6}));
  EXPECT_NE(store_.dead_letters().at(0).reason.find("70019 bytes long; MQTT allows at most 65535"),
            std::string::npos)
      << store_.dead_letters().at(0).reason.substr(0, 200);
  EXPECT_LT(store_.dead_letters().at(0).reason.size(), 400u) << "the topic is shortened";
  ASSERT_TRUE(wait_until([&] { return delivered_seqs(sub).size() >= 3; }, 10s));
  EXPECT_EQ(delivered_seqs(sub), (std::vector<std::uint64_t>{1, 3, 5}));
}

TEST_F(ForwarderDeadLetterTest, APayloadOverMaxPayloadIsDeadLettered) {
  config::Config c = mqtt_config(broker_.uri());
  c.mqtt.max_payload = 1024;
  add_device(c, "meter", {"v", "label"});
  Subscriber sub(broker_.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  store_.append(make_poll("meter", {"v"}, 1.0));
  Batch big{make_reading("meter", "label", 0.0)};
  big[0].value = std::string(2000, 'x');  // from before max_payload was lowered
  store_.append(std::move(big));
  store_.append(make_poll("meter", {"v"}, 3.0));
  ForwarderRig fw(c, store_);
  fw->start();
  expect_session_kept(fw, store_);
  EXPECT_EQ(dead_seqs(store_), (std::vector<std::uint64_t>{2}));
  EXPECT_NE(store_.dead_letters().at(0).reason.find("more than [mqtt] max_payload (1024 bytes)"),
            std::string::npos)
      << store_.dead_letters().at(0).reason;
  ASSERT_TRUE(wait_until([&] { return delivered_seqs(sub).size() >= 2; }, 10s));
  EXPECT_EQ(delivered_seqs(sub), (std::vector<std::uint64_t>{1, 3}));
}

// Before: the failed delivery ended the session, the message went out again
// at the next connect, and so on for ever; nothing behind it was delivered.
TEST(ForwarderBrokerRefusalTest, AMessageAnMqtt5BrokerRefusesIsDeadLetteredNotRetriedForEver) {
  ScratchDir dir;
  BrokerOptions options;
  options.extra_config = "message_size_limit 1500\n";  // PUBACK 0x95 for a larger one (MQTT 5)
  Mosquitto broker(dir.path(), options);
  FakeStore store;
  config::Config c = mqtt_config(broker.uri());
  c.mqtt.protocol = 5;
  add_device(c, "meter", {"v", "label"});
  Subscriber sub(broker.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  store.append(make_poll("meter", {"v"}, 1.0));
  Batch big{make_reading("meter", "label", 0.0)};
  big[0].value = std::string(3000, 'x');  // within max_payload, over the broker's limit
  store.append(std::move(big));
  store.append(make_poll("meter", {"v"}, 3.0));
  ForwarderRig fw(c, store);
  fw->start();
  // mosquitto closes the connection after its PUBACK 0x95, and Paho may lose
  // that PUBACK when it was still writing the next message: at most two
  // sessions like that, then the message goes out alone (forwarder_impl.hpp,
  // invariant 11) and its refusal is read. Never a loop.
  expect_session_kept(fw, store, 3);
  EXPECT_EQ(fw->stats().dead_lettered, 1u);
  EXPECT_EQ(dead_seqs(store), (std::vector<std::uint64_t>{2}));
  EXPECT_NE(store.dead_letters().at(0).reason.find("the broker refused it"), std::string::npos)
      << store.dead_letters().at(0).reason;
  ASSERT_TRUE(wait_until([&] { return delivered_seqs(sub).size() >= 2; }, 10s));
  EXPECT_EQ(delivered_seqs(sub), (std::vector<std::uint64_t>{1, 3}));
}

// A broker that closes the connection over a message instead of refusing it
// (mosquitto's max_packet_size; all an MQTT 3.1.1 broker can do). Before, the
// forwarder sent it again at every connect: nothing behind it went out.
TEST(ForwarderBrokerRefusalTest,
     AMessageTheBrokerDisconnectsOverIsDeadLetteredAfterThreeTriesAlone) {
  ScratchDir dir;
  BrokerOptions options;
  options.extra_config = "max_packet_size 2000\n";
  Mosquitto broker(dir.path(), options);
  FakeStore store;
  config::Config c = mqtt_config(broker.uri());
  add_device(c, "meter", {"v", "label"});
  Subscriber sub(broker.uri(), "fieldgate/gw/#", 1);
  ASSERT_TRUE(sub.wait_connected(10s));
  store.append(make_poll("meter", {"v"}, 1.0));
  Batch big{make_reading("meter", "label", 0.0)};
  big[0].value = std::string(3000, 'x');
  store.append(std::move(big));
  store.append(make_poll("meter", {"v"}, 3.0));
  LogCapture log;
  ForwarderRig fw(c, store);
  fw->start();
  // Two sessions with it first unconfirmed, then three with it alone.
  ASSERT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 60s)) << log.text();
  EXPECT_LE(fw->stats().reconnects, 6u) << log.text();
  EXPECT_EQ(dead_seqs(store), (std::vector<std::uint64_t>{2}));
  EXPECT_NE(store.dead_letters().at(0).reason.find("closed the connection each time"),
            std::string::npos)
      << store.dead_letters().at(0).reason;
  ASSERT_TRUE(wait_until([&] { return delivered_seqs(sub).size() >= 2; }, 10s));
  const auto seqs = delivered_seqs(sub);
  EXPECT_EQ(std::set<std::uint64_t>(seqs.begin(), seqs.end()), (std::set<std::uint64_t>{1, 3}));
  EXPECT_NE(log.text().find("messages go out one at a time"), std::string::npos);
  EXPECT_NE(log.text().find("messages go out in full windows again"), std::string::npos)
      << "isolation ends once the suspect is gone";
}

}  // namespace
}  // namespace fieldgate::testing
