#include "bridge/port_probe.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace fieldgate::bridge::detail {
namespace {

using Clock = std::chrono::steady_clock;

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_UNSPEC;
};

struct AddrInfoFree {
  void operator()(addrinfo* a) const noexcept { freeaddrinfo(a); }
};

// The address Paho's socket layer connects to (Socket_new in Paho C): the
// first IPv4 one, else the last of the list. nullopt when the name does not
// resolve (then the wait is a plain one: the next MQTT connect says why). A
// blocking lookup, like the one tls_probe.cpp makes on this thread after a
// failed connect: one per back-off wait, not one per probe.
std::optional<Address> resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &raw) != 0) {
    return std::nullopt;
  }
  const std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  const addrinfo* chosen = list.get();
  while (chosen != nullptr && chosen->ai_family != AF_INET && chosen->ai_next != nullptr) {
    chosen = chosen->ai_next;
  }
  if (chosen == nullptr || chosen->ai_addrlen > sizeof(sockaddr_storage)) return std::nullopt;
  Address out;
  std::memcpy(&out.storage, chosen->ai_addr, chosen->ai_addrlen);
  out.length = chosen->ai_addrlen;
  out.family = chosen->ai_family;
  return out;
}

// One non-blocking TCP connect in flight; the socket is reset (RST, no
// TIME_WAIT, nothing left open on the broker) when the probe ends.
class TcpProbe {
 public:
  enum class Answer { kOpen, kClosed, kPending };

  explicit TcpProbe(const Address& address)
      : fd_(::socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) {
      answer_ = Answer::kClosed;
      return;
    }
    const linger reset{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address.storage), address.length) == 0) {
      answer_ = Answer::kOpen;
    } else if (errno != EINPROGRESS) {
      answer_ = Answer::kClosed;
    }
  }
  ~TcpProbe() {
    if (fd_ >= 0) ::close(fd_);
  }
  TcpProbe(const TcpProbe&) = delete;
  TcpProbe& operator=(const TcpProbe&) = delete;

  // The broker's answer so far, without waiting.
  Answer answer() {
    if (answer_ != Answer::kPending) return answer_;
    pollfd pfd{fd_, POLLOUT, 0};
    if (::poll(&pfd, 1, 0) <= 0) return answer_;
    int err = 0;
    socklen_t len = sizeof err;
    const bool failed = ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0;
    answer_ = failed ? Answer::kClosed : Answer::kOpen;
    return answer_;
  }

 private:
  int fd_ = -1;
  Answer answer_ = Answer::kPending;
};

}  // namespace

WaitEnd wait_for_broker(std::mutex& mutex, std::condition_variable& cv, const bool& stopping,
                        std::chrono::milliseconds delay, const PortProbeTarget* probe) {
  const auto deadline = Clock::now() + delay;
  const auto stopped = [&stopping] { return stopping; };
  std::unique_lock lock(mutex);
  const auto plain_wait = [&] {
    return cv.wait_until(lock, deadline, stopped) ? WaitEnd::kStopped : WaitEnd::kElapsed;
  };
  if (stopping) return WaitEnd::kStopped;
  if (probe == nullptr || delay <= probe->interval) return plain_wait();
  lock.unlock();
  const auto address = resolve(probe->host, probe->port);
  lock.lock();
  if (!address) return plain_wait();
  bool seen_closed = false;
  while (Clock::now() < deadline) {
    lock.unlock();
    TcpProbe tcp(*address);
    lock.lock();
    const auto sent = Clock::now();
    // A nearby broker answers within a fraction of the interval: look early
    // too, so a port that opened is acted on at once, not an interval later.
    for (const auto check : {sent + probe->interval / 5, sent + probe->interval}) {
      if (cv.wait_until(lock, std::min(check, deadline), stopped)) return WaitEnd::kStopped;
      const auto answer = tcp.answer();
      if (answer == TcpProbe::Answer::kOpen) {
        if (seen_closed) return WaitEnd::kPortOpened;
        return plain_wait();  // open all along: the port says nothing about MQTT
      }
      if (answer == TcpProbe::Answer::kClosed) seen_closed = true;
    }
    seen_closed = true;  // no answer within an interval counts as closed
  }
  return WaitEnd::kElapsed;
}

}  // namespace fieldgate::bridge::detail
