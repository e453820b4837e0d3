#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace fieldgate::testing {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

// Copies what is readable on `from` to `to`; false when either side is done.
bool relay(int from, int to) {
  char buf[16384];
  const ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  ssize_t off = 0;
  while (off < n) {
    const ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

void close_pair(const std::pair<int, int>& p) {
  ::shutdown(p.first, SHUT_RDWR);
  ::shutdown(p.second, SHUT_RDWR);
  ::close(p.first);
  ::close(p.second);
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(0);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error("tcp proxy: cannot listen on a loopback port");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  thread_.join();
  for (const auto& p : pairs_) close_pair(p);
  ::close(listen_fd_);
}

void TcpProxy::cut() {
  cut_ = true;
  // Wait (bounded) until the relay thread has done it.
  for (int i = 0; i < 200 && cut_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void TcpProxy::run() {
  while (!stop_) {
    if (cut_) {
      for (const auto& p : pairs_) close_pair(p);
      pairs_.clear();
      cut_ = false;
    }
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (const auto& [a, b] : pairs_) {
      fds.push_back({a, POLLIN, 0});
      fds.push_back({b, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
    const std::size_t polled = pairs_.size();  // a pair accepted below was not polled yet
    if (fds[0].revents & POLLIN) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int target = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr = loopback(target_port_);
        if (target >= 0 &&
            ::connect(target, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
          pairs_.emplace_back(client, target);
          ++accepted_;
        } else {
          ::close(client);
          if (target >= 0) ::close(target);
        }
      }
    }
    std::vector<std::pair<int, int>> alive(pairs_.begin() + static_cast<std::ptrdiff_t>(polled),
                                           pairs_.end());
    for (std::size_t i = 0; i < polled; ++i) {
      const auto& a = fds[1 + 2 * i];
      const auto& b = fds[2 + 2 * i];
      bool ok = true;
      if (a.revents & (POLLIN | POLLHUP | POLLERR)) ok = relay(pairs_[i].first, pairs_[i].second);
      if (ok && (b.revents & (POLLIN | POLLHUP | POLLERR))) {
        ok = relay(pairs_[i].second, pairs_[i].first);
      }
      if (ok) {
        alive.push_back(pairs_[i]);
      } else {
        close_pair(pairs_[i]);
      }
    }
    pairs_ = std::move(alive);
  }
}

}  // namespace fieldgate::testing
