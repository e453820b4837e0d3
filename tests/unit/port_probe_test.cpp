// The forwarder's back-off wait with its port probe (bridge/port_probe.hpp),
// against real loopback sockets: a closed port does not cut the wait, a port
// that opens does, one open from the start does not, stop ends it at once.
#include "bridge/port_probe.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace fieldgate::bridge::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A listening socket on 127.0.0.1:`port` (0: any free port).
class Listener {
 public:
  explicit Listener(int port = 0) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    ok_ =
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 8) == 0;
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
  bool ok_ = false;
};

// A loopback port nobody listens on (just freed).
int closed_port() {
  return Listener().port();
}

struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;

  WaitEnd wait(std::chrono::milliseconds delay, int port, std::chrono::milliseconds* took) {
    const PortProbeTarget target{"127.0.0.1", port, 100ms};
    const auto start = Clock::now();
    const auto end = wait_for_broker(mutex, cv, stopping, delay, port > 0 ? &target : nullptr);
    *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return end;
  }
};

TEST(PortProbeWait, AClosedPortDoesNotCutTheWait) {
  Waiter w;
  std::chrono::milliseconds took{};
  EXPECT_EQ(w.wait(700ms, closed_port(), &took), WaitEnd::kElapsed);
  EXPECT_GE(took, 700ms);
}

TEST(PortProbeWait, APortThatOpensCutsTheWait) {
  Waiter w;
  const int port = closed_port();
  std::unique_ptr<Listener> broker;
  std::thread opener([&] {
    std::this_thread::sleep_for(400ms);
    broker = std::make_unique<Listener>(port);
  });
  std::chrono::milliseconds took{};
  const auto end = w.wait(20s, port, &took);
  opener.join();
  ASSERT_TRUE(broker->ok()) << "port " << port << " was taken meanwhile";
  EXPECT_EQ(end, WaitEnd::kPortOpened);
  EXPECT_LT(took, 10s);  // 20 s without the probe; a wide margin, not a timing check
}

TEST(PortProbeWait, APortOpenFromTheStartDoesNotCutTheWait) {
  // A load balancer taking TCP, a broker refusing our credentials: the port
  // being open says nothing about the next MQTT connect.
  Waiter w;
  Listener broker;
  ASSERT_TRUE(broker.ok());
  std::chrono::milliseconds took{};
  EXPECT_EQ(w.wait(700ms, broker.port(), &took), WaitEnd::kElapsed);
  EXPECT_GE(took, 700ms);
}

TEST(PortProbeWait, StopEndsTheWaitAtOnce) {
  Waiter w;
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    {
      std::lock_guard lock(w.mutex);
      w.stopping = true;
    }
    w.cv.notify_all();
  });
  std::chrono::milliseconds took{};
  const auto end = w.wait(30s, closed_port(), &took);
  stopper.join();
  EXPECT_EQ(end, WaitEnd::kStopped);
  EXPECT_LT(took, 10s);
}

TEST(PortProbeWait, WithoutAProbeItIsAPlainWait) {
  Waiter w;
  std::chrono::milliseconds took{};
  EXPECT_EQ(w.wait(300ms, 0, &took), WaitEnd::kElapsed);
  EXPECT_GE(took, 300ms);
}

}  // namespace
}  // namespace fieldgate::bridge::detail
