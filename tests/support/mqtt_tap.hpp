// Test support: reads the MQTT 3.1.1 byte streams a TcpProxy relays between
// a client and the broker, and records which readings (by the "seq" of
// their JSON payload) the broker confirmed: PUBACK for QoS 1, PUBREC for
// QoS 2 (from then on the broker owns the message). A fault test needs this
// to tell a reading the gateway lost from one a SIGKILLed broker lost after
// confirming it. It also keeps every PUBLISH the broker sent, in order: on a
// subscriber's link that shows the broker's own delivery order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace fieldgate::testing {

/// A PUBLISH the broker sent to the client, as seen on the link.
struct BrokerPublish {
  int connection = 0;           // the proxy's id of the connection
  std::uint16_t packet_id = 0;  // 0 at QoS 0
  int qos = 0;
  bool dup = false;
  std::string topic;
  std::uint64_t seq = 0;  // the payload's "seq", 0 if none
};

class MqttTap {
 public:
  /// Bytes of connection `id`, in order; `from_client` is the client's side.
  void bytes(int id, bool from_client, const char* data, std::size_t n);
  /// The connection is gone: packet ids of its unconfirmed publishes die with it.
  void closed(int id);
  /// The broker was killed: confirmations so far were made by a broker that
  /// no longer exists.
  void broker_killed();

  /// Seqs confirmed by a broker that was later killed (its loss if never delivered).
  [[nodiscard]] std::set<std::uint64_t> confirmed_by_killed_broker() const;
  /// Every seq the broker confirmed.
  [[nodiscard]] std::set<std::uint64_t> confirmed() const;
  /// PUBLISH packets seen from the gateway (incl. resends).
  [[nodiscard]] std::uint64_t publishes() const;
  /// Every PUBLISH the broker sent, in the order sent on each connection
  /// (connections interleaved as they happened).
  [[nodiscard]] std::vector<BrokerPublish> broker_publishes() const;

 private:
  struct Connection {
    std::string in[2];                              // unparsed bytes per direction
    std::map<std::uint16_t, std::uint64_t> by_pid;  // packet id → seq of its PUBLISH
  };
  void parse(int id, Connection& c, bool from_client);

  mutable std::mutex mutex_;
  std::map<int, Connection> connections_;
  std::map<std::uint64_t, int> confirmed_;  // seq → broker generation that confirmed it
  int generation_ = 0;
  std::uint64_t publishes_ = 0;
  std::vector<BrokerPublish> broker_publishes_;
};

/// The "seq" number in a JSON payload, 0 if there is none.
std::uint64_t json_seq(const std::string& payload);

/// A topic of the gateway's state rather than readings: its status (and
/// stats), a device's availability.
bool not_a_reading(const std::string& topic);

}  // namespace fieldgate::testing
