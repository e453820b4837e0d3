// Test support: a TCP relay on a free loopback port to a target port, with
// the link faults a test needs: connections closed (FIN) or reset (RST), a
// reset in the middle of a packet, a blackhole that drops everything without
// telling either side (only keepalive can notice), and a slow link. An
// optional MqttTap sees every byte in both directions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fieldgate::testing {

class MqttTap;

class TcpProxy {
 public:
  /// Listens on 127.0.0.1:port() and relays each connection to
  /// 127.0.0.1:target_port. Throws std::runtime_error if it cannot listen.
  /// `tap`, if given, must outlive the proxy.
  explicit TcpProxy(int target_port, MqttTap* tap = nullptr);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  /// Closes every relayed connection at once (both sides, FIN); new
  /// connections are still accepted.
  void cut();
  /// The same with RST on both sides (SO_LINGER 0): a router that forgot the
  /// connection, a peer that crashed.
  void reset();
  /// The next chunk the client sends is relayed only half, then both sides
  /// are reset: the broker sees a truncated MQTT packet.
  void reset_mid_packet();
  /// While on, nothing is relayed and nobody is told: connections stay open
  /// and silent, new ones are accepted and stay silent too. When switched
  /// off, the connections that lived through it are reset (their state is
  /// gone, as behind a NAT that lost it) and new ones work again.
  void set_blackhole(bool on);
  /// Relays at most `bytes_per_second` in each direction (0: no limit).
  void set_rate(std::size_t bytes_per_second);
  /// Holds what it relays for `one_way` in each direction (a long link: the
  /// round trip grows by twice that; 0: none). Bytes already held keep their
  /// time.
  void set_delay(std::chrono::milliseconds one_way);
  /// Connections accepted so far.
  [[nodiscard]] int accepted() const noexcept { return accepted_; }

 private:
  struct Held {
    std::chrono::steady_clock::time_point due;
    std::string bytes;
  };
  struct Pair {
    int client = -1;
    int target = -1;
    int id = 0;
    bool silent = false;       // accepted or alive during a blackhole
    std::deque<Held> held[2];  // set_delay(): client→target, target→client
  };
  enum class Command { kNone, kCut, kReset, kUnblackhole };
  enum class Relayed { kOk, kClosed, kReset };
  void run();
  void command(Command c);
  void close_all(bool rst);
  Relayed relay(Pair& p, bool from_client, std::size_t budget);
  // Writes what set_delay() held and is due; false if a side is closed.
  static bool release_due(Pair& p);

  MqttTap* tap_;
  int listen_fd_ = -1;
  int target_port_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<Command> command_{Command::kNone};
  std::atomic<bool> blackhole_{false};
  std::atomic<bool> mid_packet_reset_{false};
  std::atomic<std::size_t> rate_{0};
  std::atomic<std::chrono::milliseconds> delay_{std::chrono::milliseconds(0)};
  std::atomic<int> accepted_{0};
  std::vector<Pair> pairs_;  // relay thread only
  std::thread thread_;
};

}  // namespace fieldgate::testing
