// The one out-of-order delivery the fault suite excuses (seq_checker.hpp,
// design note 5; docs/RELIABILITY.md, "Order"), made to happen on purpose
// against the real mosquitto, with a subscriber written in raw MQTT 3.1.1 so
// that every acknowledgement is sent exactly when the scenario needs it:
//
//  1. A subscriber with a persistent session (QoS 2 on fg/#) goes offline.
//  2. 100 QoS 2 readings, one QoS 1 status message, 100 QoS 2 readings are
//     published: all queued for it (one publisher, one topic for readings).
//  3. It comes back and completes only the first few readings, one at a
//     time, so the broker's in-flight list grows past the status message.
//  4. It acknowledges the QoS 1 status message at once (PUBACK): out of turn.
//  5. One more reading (201) is published, then the subscriber completes
//     everything.
//
// mosquitto 2.0.11 (Debian 12) sends 201 ahead of the readings it still had
// queued: the PUBACK raised its in-flight quota while those waited (in rare
// runs it has sent them all by then: the test then runs the scenario again,
// up to three times, on a fresh broker). The test
// asserts what the checker must make of that: every late reading is found
// overtaken on the subscriber's link, counted as reordered_by_broker and not
// as reordered; without the link's evidence the same arrivals are reordered.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/fault/seq_checker.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_tap.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kConnect = 1, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6, kPubcomp = 7,
              kSubscribe = 8, kDisconnect = 14;

std::string u16(std::uint16_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}
std::string text(const std::string& s) {
  return u16(static_cast<std::uint16_t>(s.size())) + s;
}
std::uint16_t read_u16(const std::string& b, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(b[at]) << 8) |
                                    static_cast<unsigned char>(b[at + 1]));
}

struct Packet {
  int type = 0;
  int flags = 0;
  std::string body;
};

// A bare MQTT 3.1.1 client on a blocking socket: the test decides every
// packet it sends.
class RawClient {
 public:
  RawClient(int port, const std::string& client_id, bool clean_session) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("raw client: cannot connect");
    }
    send(kConnect, 0,
         text("MQTT") + std::string{'\x04', clean_session ? '\x02' : '\x00'} + u16(60) +
             text(client_id));
    const auto connack = read(5s);
    if (!connack || connack->type != 2 || connack->body.size() < 2 || connack->body[1] != 0) {
      throw std::runtime_error("raw client: no CONNACK");
    }
    session_present = (connack->body[0] & 1) != 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send(int type, int flags, const std::string& body) {
    std::string packet(1, static_cast<char>((type << 4) | flags));
    std::size_t n = body.size();
    do {
      auto byte = static_cast<unsigned char>(n % 128);
      n /= 128;
      if (n > 0) byte |= 0x80;
      packet += static_cast<char>(byte);
    } while (n > 0);
    packet += body;
    for (std::size_t sent = 0; sent < packet.size();) {
      const auto k = ::send(fd_, packet.data() + sent, packet.size() - sent, MSG_NOSIGNAL);
      if (k <= 0) throw std::runtime_error("raw client: send failed");
      sent += static_cast<std::size_t>(k);
    }
  }
  void ack(int type, std::uint16_t packet_id) {
    send(type, type == kPubrel ? 2 : 0, u16(packet_id));
  }

  /// The next packet, or nothing after `silence` without one.
  std::optional<Packet> read(std::chrono::milliseconds silence) {
    for (;;) {
      if (auto p = take()) return p;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(silence.count())) <= 0) return std::nullopt;
      char chunk[65536];
      const auto k = ::recv(fd_, chunk, sizeof chunk, 0);
      if (k <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(k));
    }
  }

  /// True once the other end closed the connection, within `timeout`
  /// (anything it sends meanwhile is dropped).
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd pfd{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
      char chunk[4096];
      if (::recv(fd_, chunk, sizeof chunk, 0) <= 0) return true;
    }
  }

  bool session_present = false;

 private:
  std::optional<Packet> take() {
    std::size_t length = 0, multiplier = 1, at = 1;
    for (;; ++at) {
      if (at >= buffer_.size() || at > 4) return std::nullopt;
      const auto byte = static_cast<unsigned char>(buffer_[at]);
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) == 0) break;
    }
    if (buffer_.size() < at + 1 + length) return std::nullopt;
    const auto header = static_cast<unsigned char>(buffer_[0]);
    Packet p{header >> 4, header & 0x0f, buffer_.substr(at + 1, length)};
    buffer_.erase(0, at + 1 + length);
    return p;
  }

  int fd_ = -1;
  std::string buffer_;
};

// "mosquitto version 2.0.11" → {2, 0, 11}; {0, 0, 0} if unknown.
std::array<int, 3> mosquitto_version(const std::filesystem::path& dir) {
  const auto r = run_command({"mosquitto", "-h"}, dir, 10s);
  std::array<int, 3> v{0, 0, 0};
  const auto at = (r.out + r.err).find("mosquitto version ");
  if (at != std::string::npos) {
    std::sscanf((r.out + r.err).c_str() + at + 18, "%d.%d.%d", &v[0], &v[1], &v[2]);
  }
  return v;
}

std::string reading(int seq) {
  return "{\"seq\":" + std::to_string(seq) + "}";
}

// One run of the scenario at the top of the file on a fresh broker, checking
// the checker's verdict on what arrived; how many readings 201 overtook.
void run_scenario(const std::filesystem::path& dir, std::size_t& overtaken,
                  std::string& how_status_came) {
  Mosquitto broker(dir);
  MqttTap tap;
  TcpProxy link(broker.port(), &tap);
  const std::string id = "fieldgate-test-raw-sub";
  {
    RawClient sub(link.port(), id, false);
    sub.send(kSubscribe, 2, u16(1) + text("fg/#") + std::string(1, '\2'));
    const auto suback = sub.read(5s);
    ASSERT_TRUE(suback && suback->type == 9);
    sub.send(kDisconnect, 0, "");
    // The broker closes the connection once it has taken the DISCONNECT:
    // the session is offline before anything is published for it.
    ASSERT_TRUE(sub.wait_closed(10s)) << "the broker did not close the connection after DISCONNECT";
  }
  Publisher pub(broker.uri());
  for (int seq = 1; seq <= 100; ++seq) pub.publish("fg/a", reading(seq), 2);
  pub.publish("fg/status", "online", 1);
  for (int seq = 101; seq <= 200; ++seq) pub.publish("fg/a", reading(seq), 2);

  RawClient sub(link.port(), id, false);
  ASSERT_TRUE(sub.session_present);
  std::vector<std::uint16_t> qos2_ids;                  // in the order received
  std::set<std::uint16_t> received;                     // PUBREC sent
  std::map<std::uint16_t, ReceivedMessage> unreleased;  // delivered on PUBREL, as Paho does
  std::vector<ReceivedMessage> delivered;
  std::size_t completed = 0;
  bool status_acked = false;
  bool ack_all = false;
  how_status_came = "never";
  const auto pubrec = [&](std::uint16_t packet_id) {
    if (received.insert(packet_id).second) sub.ack(kPubrec, packet_id);
  };
  // Until the status message is acked, only the first 5 readings are
  // completed, one at a time; then everything. (A broker that keeps to its
  // in-flight quota never sends the status message that early: after a
  // few seconds of silence, everything is acknowledged.)
  const auto ack_what_may_go = [&] {
    const std::size_t upto = ack_all ? qos2_ids.size() : std::min<std::size_t>(5, qos2_ids.size());
    for (std::size_t k = completed; k < upto && (ack_all || k == completed); ++k) {
      pubrec(qos2_ids[k]);
    }
  };
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    const auto p = sub.read(3s);
    if (!p && ack_all) break;  // everything delivered
    if (!p) {
      ack_all = true;
      how_status_came = "after a silence that released everything";
    } else if (p->type == kPublish) {
      const int qos = (p->flags >> 1) & 3;
      ASSERT_GE(p->body.size(), 2u);
      const std::size_t topic_len = read_u16(p->body, 0);
      ASSERT_GE(p->body.size(), 4 + topic_len);
      const auto packet_id = read_u16(p->body, 2 + topic_len);
      ReceivedMessage m{p->body.substr(2, topic_len), p->body.substr(4 + topic_len), qos, false};
      if (qos == 1) {
        // Out of turn: the readings before it are still in flight.
        sub.ack(kPuback, packet_id);
        delivered.push_back(m);
        if (!ack_all) how_status_came = "after " + std::to_string(qos2_ids.size()) + " readings";
        status_acked = ack_all = true;
        pub.publish("fg/a", reading(201), 2);
      } else if (!received.contains(packet_id)) {
        unreleased.emplace(packet_id, m);
        qos2_ids.push_back(packet_id);
      }
    } else if (p->type == kPubrel) {
      ASSERT_GE(p->body.size(), 2u);
      const auto packet_id = read_u16(p->body, 0);
      if (const auto it = unreleased.find(packet_id); it != unreleased.end()) {
        delivered.push_back(it->second);
        unreleased.erase(it);
        ++completed;
      }
      sub.ack(kPubcomp, packet_id);
    }
    ack_what_may_go();
  }
  ASSERT_TRUE(status_acked) << "the status message never came";

  Accepted accepted;
  accepted.last_seq = 201;
  const auto overtakes = broker_overtakes(tap.broker_publishes());
  const auto report = check_delivery(delivered, accepted, {}, overtakes);
  EXPECT_EQ(report.distinct, 201u) << report.summary();
  EXPECT_EQ(report.missing, 0u) << report.summary();
  EXPECT_EQ(report.reordered, 0u) << report.summary();
  EXPECT_EQ(report.reordered_by_broker, overtakes.size()) << report.summary();
  for (const auto& [seq, newer] : overtakes) {
    EXPECT_EQ(newer, std::set<std::uint64_t>{201}) << "seq " << seq;
  }
  // The same arrivals without the link's evidence: every one is reordered.
  const auto blind = check_delivery(delivered, accepted);
  EXPECT_EQ(blind.reordered, report.reordered_by_broker) << blind.summary();

  overtaken = overtakes.size();
}

TEST(BrokerOrder, OvertakingSeenOnTheSubscriberLinkIsTheOnlyExcusedReorder) {
  ScratchDir dir;
  const auto version = mosquitto_version(dir.path());
  // Whether the broker overtakes depends on its timing: twice, in full
  // suites here (six tests in parallel on two cores), it had sent all 200
  // readings before 201 came, so that 201 overtook nothing (not reproduced
  // alone or under load in 14 runs). The checker's verdict is checked in
  // every run; the overtaking itself is looked for in up to three (one run
  // for a mosquitto that keeps its queue order).
  const bool overtakes_expected = version < std::array<int, 3>{2, 0, 13};
  std::size_t overtaken = 0;
  std::string how_status_came;
  std::vector<std::string> runs;
  for (int attempt = 1; attempt <= (overtakes_expected ? 3 : 1) && overtaken == 0; ++attempt) {
    run_scenario(dir.path() / ("broker-" + std::to_string(attempt)), overtaken, how_status_came);
    if (::testing::Test::HasFatalFailure()) return;
    runs.push_back(std::to_string(overtaken) + " overtaken, the status message came " +
                   how_status_came);
  }
  std::printf("[ info ] mosquitto %d.%d.%d sent reading 201 ahead of %zu readings it had queued\n",
              version[0], version[1], version[2], overtaken);
  if (overtakes_expected) {
    // What docs/RELIABILITY.md says of these versions; upstream reworked the
    // in-flight quota in 2.0.13 (eclipse/mosquitto#2306).
    EXPECT_GT(overtaken, 0u) << "this mosquitto kept its queue order in " << runs.size()
                             << " runs: update the docs (" << ::testing::PrintToString(runs) << ")";
  }
}

}  // namespace
}  // namespace fieldgate::testing
