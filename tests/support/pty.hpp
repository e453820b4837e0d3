// Test support: a pty pair made with openpty(), the far end of a serial cable
// without hardware. The test writes what the instrument sends to master() and
// reads what the gateway sent from it; the code under test opens slave_path().
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace fieldgate::testing {

class OpenPty {
 public:
  OpenPty() {
    char name[256] = {};
    if (::openpty(&master_, &slave_, name, nullptr, nullptr) != 0) {
      throw std::runtime_error("openpty failed");
    }
    slave_path_ = name;
    // Raw at once: before the driver opens it, the slave's default line
    // discipline would echo bytes back to the master and mangle line ends.
    termios tio{};
    ::tcgetattr(slave_, &tio);
    ::cfmakeraw(&tio);
    ::tcsetattr(slave_, TCSANOW, &tio);
    ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
  }
  ~OpenPty() {
    close_master();
    if (slave_ >= 0) ::close(slave_);
  }
  OpenPty(const OpenPty&) = delete;
  OpenPty& operator=(const OpenPty&) = delete;

  [[nodiscard]] const std::string& slave_path() const noexcept { return slave_path_; }
  [[nodiscard]] int master() const noexcept { return master_; }

  /// Sends bytes as the instrument would.
  void write(std::string_view bytes) const {
    while (!bytes.empty()) {
      const ssize_t n = ::write(master_, bytes.data(), bytes.size());
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }

  /// Reads what the gateway sent, waiting at most `timeout` for the first byte.
  [[nodiscard]] std::string read(std::chrono::milliseconds timeout) const {
    std::string out;
    pollfd p{master_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let the rest arrive
    char buf[1024];
    ssize_t n = 0;
    while ((n = ::read(master_, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

  /// Unplugs the cable: the slave side sees a hang-up (EIO).
  void close_master() {
    if (master_ >= 0) ::close(master_);
    master_ = -1;
  }

 private:
  int master_ = -1;
  int slave_ = -1;  // kept open so the pty (and its settings) lives as long as the test
  std::string slave_path_;
};

}  // namespace fieldgate::testing
