// Test support: a TCP relay on a free loopback port to a target port, whose
// connections a test can cut abruptly (a link failure the client did not
// cause: no MQTT DISCONNECT, so the broker sends the Last Will).
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace fieldgate::testing {

class TcpProxy {
 public:
  /// Listens on 127.0.0.1:port() and relays each connection to
  /// 127.0.0.1:target_port. Throws std::runtime_error if it cannot listen.
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  /// Closes every relayed connection at once (both sides); new connections
  /// are still accepted.
  void cut();
  /// Connections accepted so far.
  [[nodiscard]] int accepted() const noexcept { return accepted_; }

 private:
  void run();
  int listen_fd_ = -1;
  int target_port_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::atomic<int> accepted_{0};
  std::vector<std::pair<int, int>> pairs_;  // client fd, target fd (relay thread only)
  std::thread thread_;
};

}  // namespace fieldgate::testing
