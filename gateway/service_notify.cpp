#include "gateway/service_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace fieldgate::gateway {
namespace detail {
namespace {

/// A decimal of digits only, no sign, no spaces, in range; nullopt otherwise.
template <typename T>
std::optional<T> parse_decimal(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  const std::string_view s(text);
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

/// Closes the socket on every path out of notify_socket_send().
struct SocketFd {
  int fd;
  ~SocketFd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::optional<std::chrono::microseconds> watchdog_interval_from(const char* usec, const char* pid,
                                                                pid_t self) {
  const auto interval = parse_decimal<std::uint64_t>(usec);
  if (!interval || *interval == 0) return std::nullopt;
  // Longer than a century is not an interval anyone meant; it would overflow
  // the microseconds' representation further down.
  if (*interval > std::uint64_t{100} * 365 * 24 * 3600 * 1000000) return std::nullopt;
  if (pid != nullptr) {
    const auto watched = parse_decimal<pid_t>(pid);
    if (!watched || *watched != self) return std::nullopt;
  }
  return std::chrono::microseconds(static_cast<std::int64_t>(*interval));
}

int notify_socket_send(std::string_view socket, std::string_view state) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket.size() < 2 || (socket[0] != '/' && socket[0] != '@')) return -EAFNOSUPPORT;
  if (socket.size() >= sizeof(address.sun_path)) return -ENAMETOOLONG;
  std::memcpy(address.sun_path, socket.data(), socket.size());
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // the abstract namespace
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size());

  const SocketFd s{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return -errno;
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) return -errno;
  const ssize_t sent = ::send(s.fd, state.data(), state.size(), MSG_NOSIGNAL);
  if (sent < 0) return -errno;
  return static_cast<std::size_t>(sent) == state.size() ? 0 : -EMSGSIZE;
}

}  // namespace detail

ServiceNotifier::ServiceNotifier() {
  if (const char* socket = std::getenv("NOTIFY_SOCKET"); socket != nullptr) socket_ = socket;
  watchdog_interval_ = detail::watchdog_interval_from(std::getenv("WATCHDOG_USEC"),
                                                      std::getenv("WATCHDOG_PID"), ::getpid());
}

void ServiceNotifier::send(const std::string& state) const {
  if (socket_.empty()) return;
  const int r = detail::notify_socket_send(socket_, state);
  if (r < 0) spdlog::debug("notifying systemd on {} failed: {}", socket_, std::strerror(-r));
}

void ServiceNotifier::ready(const std::string& status) const {
  send("READY=1\nSTATUS=" + status);
}

void ServiceNotifier::reloading() const {
  send("RELOADING=1\nSTATUS=reloading the configuration");
}

void ServiceNotifier::stopping(const std::string& status) const {
  send("STOPPING=1\nSTATUS=" + status);
}

void ServiceNotifier::status(const std::string& line) const {
  send("STATUS=" + line);
}

void ServiceNotifier::watchdog() const {
  send("WATCHDOG=1");
}

}  // namespace fieldgate::gateway
