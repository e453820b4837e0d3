#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "tests/support/mqtt_tap.hpp"

namespace fieldgate::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kChunk = 16384;
constexpr int kTickMs = 5;

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

void close_fd(int fd, bool rst) {
  if (rst) {
    const linger lg{1, 0};  // close() sends RST and discards what is queued
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  } else {
    ::shutdown(fd, SHUT_RDWR);
  }
  ::close(fd);
}

bool send_all(int fd, const char* data, std::size_t n) {
  std::size_t off = 0;
  while (off < n) {
    const ssize_t w = ::send(fd, data + off, n - off, MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port, MqttTap* tap) : tap_(tap), target_port_(target_port) {
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
  close_all(false);
  ::close(listen_fd_);
}

void TcpProxy::command(Command c) {
  command_ = c;
  // Wait (bounded) until the relay thread has done it.
  for (int i = 0; i < 400 && command_ != Command::kNone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void TcpProxy::cut() {
  command(Command::kCut);
}
void TcpProxy::reset() {
  command(Command::kReset);
}
void TcpProxy::reset_mid_packet() {
  mid_packet_reset_ = true;
}
void TcpProxy::set_blackhole(bool on) {
  if (on) {
    blackhole_ = true;
  } else {
    command(Command::kUnblackhole);
  }
}
void TcpProxy::set_rate(std::size_t bytes_per_second) {
  rate_ = bytes_per_second;
}
void TcpProxy::set_delay(std::chrono::milliseconds one_way) {
  delay_ = one_way;
}

bool TcpProxy::release_due(Pair& p) {
  const auto now = Clock::now();
  for (int dir = 0; dir < 2; ++dir) {
    auto& held = p.held[dir];
    while (!held.empty() && held.front().due <= now) {
      const auto& bytes = held.front().bytes;
      if (!send_all(dir == 0 ? p.target : p.client, bytes.data(), bytes.size())) return false;
      held.pop_front();
    }
  }
  return true;
}

void TcpProxy::close_all(bool rst) {
  for (const auto& p : pairs_) {
    close_fd(p.client, rst);
    close_fd(p.target, rst);
    if (tap_ != nullptr) tap_->closed(p.id);
  }
  pairs_.clear();
}

// Copies up to `budget` bytes that are readable on one side to the other.
TcpProxy::Relayed TcpProxy::relay(Pair& p, bool from_client, std::size_t budget) {
  char buf[kChunk];
  const int from = from_client ? p.client : p.target;
  const int to = from_client ? p.target : p.client;
  const ssize_t n = ::read(from, buf, std::min(budget, sizeof buf));
  if (n <= 0) return Relayed::kClosed;
  auto len = static_cast<std::size_t>(n);
  const bool truncate = from_client && len >= 2 && mid_packet_reset_.exchange(false);
  if (truncate) len /= 2;
  if (tap_ != nullptr) tap_->bytes(p.id, from_client, buf, len);
  const auto delay = delay_.load();
  if (delay.count() > 0 || !p.held[from_client ? 0 : 1].empty()) {
    p.held[from_client ? 0 : 1].push_back({Clock::now() + delay, std::string(buf, len)});
  } else if (!send_all(to, buf, len)) {
    return Relayed::kClosed;
  }
  return truncate ? Relayed::kReset : Relayed::kOk;
}

void TcpProxy::run() {
  int next_id = 0;
  double tokens[2] = {0, 0};  // client→target, target→client
  auto last = Clock::now();
  while (!stop_) {
    switch (command_.load()) {
      case Command::kCut:
        close_all(false);
        break;
      case Command::kReset:
        close_all(true);
        break;
      case Command::kUnblackhole: {
        std::vector<Pair> kept;
        for (auto& p : pairs_) {
          if (p.silent) {
            close_fd(p.client, true);
            close_fd(p.target, true);
            if (tap_ != nullptr) tap_->closed(p.id);
          } else {
            kept.push_back(std::move(p));
          }
        }
        pairs_ = std::move(kept);
        blackhole_ = false;
        break;
      }
      case Command::kNone:
        break;
    }
    command_ = Command::kNone;
    const bool blackhole = blackhole_;
    if (blackhole) {
      for (auto& p : pairs_) p.silent = true;
    }

    const std::size_t rate = rate_;
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - last).count();
    last = now;
    for (double& t : tokens) {
      // A bucket of 50 ms worth: smooth, but never a burst of more.
      t = rate == 0 ? kChunk : std::min(t + elapsed * static_cast<double>(rate), rate / 20.0 + 1);
    }

    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (const auto& p : pairs_) {
      const bool quiet = p.silent;
      fds.push_back({p.client, static_cast<short>(quiet || tokens[0] < 1 ? 0 : POLLIN), 0});
      fds.push_back({p.target, static_cast<short>(quiet || tokens[1] < 1 ? 0 : POLLIN), 0});
    }
    bool holding = false;
    for (const auto& p : pairs_) holding = holding || !p.held[0].empty() || !p.held[1].empty();
    const int ready = ::poll(fds.data(), fds.size(), holding ? 1 : kTickMs);
    if (holding) {
      std::vector<Pair> kept;
      for (auto& p : pairs_) {
        if (release_due(p)) {
          kept.push_back(std::move(p));
        } else {
          close_fd(p.client, false);
          close_fd(p.target, false);
          if (tap_ != nullptr) tap_->closed(p.id);
        }
      }
      if (kept.size() != pairs_.size()) {
        pairs_ = std::move(kept);
        continue;  // fds no longer match pairs_
      }
      pairs_ = std::move(kept);
    }
    if (ready <= 0) continue;
    const std::size_t polled = pairs_.size();  // a pair accepted below was not polled yet
    if (fds[0].revents & POLLIN) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int target = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr = loopback(target_port_);
        if (target >= 0 &&
            ::connect(target, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
          pairs_.push_back(Pair{client, target, ++next_id, blackhole, {}});
          ++accepted_;
        } else {
          close_fd(client, true);
          if (target >= 0) ::close(target);
        }
      }
    }
    std::vector<Pair> alive(
        std::make_move_iterator(pairs_.begin() + static_cast<std::ptrdiff_t>(polled)),
        std::make_move_iterator(pairs_.end()));
    for (std::size_t i = 0; i < polled; ++i) {
      auto& p = pairs_[i];
      const auto& a = fds[1 + 2 * i];
      const auto& b = fds[2 + 2 * i];
      Relayed result = Relayed::kOk;
      for (int dir = 0; dir < 2 && result == Relayed::kOk; ++dir) {
        const short ev = dir == 0 ? a.revents : b.revents;
        if (!(ev & (POLLIN | POLLHUP | POLLERR))) continue;
        const auto budget = static_cast<std::size_t>(tokens[dir]);
        result = relay(p, dir == 0, std::max<std::size_t>(budget, 1));
        if (rate != 0) tokens[dir] = 0;  // spent (at most the budget was read)
      }
      if (result == Relayed::kOk) {
        alive.push_back(std::move(p));
      } else {
        close_fd(p.client, result == Relayed::kReset);
        close_fd(p.target, result == Relayed::kReset);
        if (tap_ != nullptr) tap_->closed(p.id);
      }
    }
    pairs_ = std::move(alive);
  }
}

}  // namespace fieldgate::testing
