// The notify protocol spoken to systemd without libsystemd: which
// $WATCHDOG_USEC/$WATCHDOG_PID values turn the watchdog on (the environment is
// outside input: garbage turns it off, never on), and the datagram reaching a
// real socket in the filesystem and in the abstract namespace, or a clear
// error for a socket name that cannot be one.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

#include "gateway/service_notify.hpp"

namespace fieldgate::gateway {
namespace {

using detail::notify_socket_send;
using detail::watchdog_interval_from;
using std::chrono::microseconds;

TEST(ServiceNotify, WatchdogIntervalOnlyForAPositiveDecimalAndThisProcess) {
  EXPECT_EQ(watchdog_interval_from("2000000", nullptr, 42), microseconds(2000000));
  EXPECT_EQ(watchdog_interval_from("2000000", "42", 42), microseconds(2000000));
  EXPECT_FALSE(watchdog_interval_from("2000000", "43", 42)) << "systemd watches another process";
  EXPECT_FALSE(watchdog_interval_from(nullptr, nullptr, 42));
  for (const char* usec : {"", "0", "-5", "+5", " 5", "5s", "0x10", "99999999999999999999999",
                           "18446744073709551615"}) {
    EXPECT_FALSE(watchdog_interval_from(usec, nullptr, 42)) << usec;
  }
  for (const char* pid : {"", "x", "42 ", "-42"}) {
    EXPECT_FALSE(watchdog_interval_from("1000", pid, 42)) << pid;
  }
}

/// A datagram socket bound where the service manager's would be.
class Listener {
 public:
  explicit Listener(const std::string& name)
      : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0;
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  [[nodiscard]] bool bound() const { return bound_; }
  /// The next datagram, without waiting (the send is synchronous on AF_UNIX).
  std::string next() {
    char buffer[512];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    return n < 0 ? std::string("<nothing: ") + std::strerror(errno) + ">" : std::string(buffer, n);
  }

 private:
  int fd_;
  bool bound_ = false;
};

TEST(ServiceNotify, ADatagramReachesAPathSocket) {
  const auto path =
      std::filesystem::temp_directory_path() / ("fieldgate-notify-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  Listener listener(path.string());
  ASSERT_TRUE(listener.bound());
  EXPECT_EQ(notify_socket_send(path.string(), "READY=1\nSTATUS=up"), 0);
  EXPECT_EQ(listener.next(), "READY=1\nSTATUS=up");
  std::filesystem::remove(path);
}

TEST(ServiceNotify, ADatagramReachesAnAbstractSocket) {
  const std::string name = "@fieldgate-notify-test-" + std::to_string(::getpid());
  Listener listener(name);
  ASSERT_TRUE(listener.bound());
  EXPECT_EQ(notify_socket_send(name, "WATCHDOG=1"), 0);
  EXPECT_EQ(listener.next(), "WATCHDOG=1");
}

TEST(ServiceNotify, SocketNamesThatCannotBeOneAreRefused) {
  EXPECT_EQ(notify_socket_send("relative/path", "READY=1"), -EAFNOSUPPORT);
  EXPECT_EQ(notify_socket_send("@", "READY=1"), -EAFNOSUPPORT);
  EXPECT_EQ(notify_socket_send("", "READY=1"), -EAFNOSUPPORT);
  EXPECT_EQ(notify_socket_send("/" + std::string(200, 'x'), "READY=1"), -ENAMETOOLONG);
  EXPECT_EQ(notify_socket_send("/nonexistent-dir-fieldgate/notify", "READY=1"), -ENOENT);
}

}  // namespace
}  // namespace fieldgate::gateway
