#include "core/serial_port.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace fieldgate {
namespace {

// The rates termios can set, each with its constant; the loader accepts only
// these (config's kBaudRates).
struct BaudRate {
  int baud;
  speed_t speed;
};
constexpr BaudRate kBaudRates[] = {
    {300, B300},         {600, B600},         {1200, B1200},       {2400, B2400},
    {4800, B4800},       {9600, B9600},       {19200, B19200},     {38400, B38400},
    {57600, B57600},     {115200, B115200},   {230400, B230400},   {460800, B460800},
    {500000, B500000},   {576000, B576000},   {921600, B921600},   {1000000, B1000000},
    {1152000, B1152000}, {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000},
    {3000000, B3000000}, {3500000, B3500000}, {4000000, B4000000},
};

speed_t speed_of(int baud) {
  for (const auto& rate : kBaudRates) {
    if (rate.baud == baud) return rate.speed;
  }
  return B0;
}

tcflag_t size_flag(int data_bits) {
  switch (data_bits) {
    case 5:
      return CS5;
    case 6:
      return CS6;
    case 7:
      return CS7;
    default:
      return CS8;
  }
}

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

std::string describe_open_error(const std::string& path, int err) {
  if (err == EPERM) {
    // Not the file's permissions: the kernel's device cgroup said no, as a
    // systemd unit's DevicePolicy=closed does for a device class not allowed.
    return fmt::format(
        "{}: {}: this kind of device is not allowed to the process (the fieldgate service "
        "allows ttyS, ttyUSB, ttyACM and ttyAMA; add DeviceAllow=char-<name> rw with "
        "`systemctl edit fieldgate` for others)",
        path, errno_text(err));
  }
  if (err != EACCES) return fmt::format("{}: {}", path, errno_text(err));
  struct stat st {};
  std::string group_name = "its group";
  if (::stat(path.c_str(), &st) == 0) {
    if (const struct group* g = ::getgrgid(st.st_gid)) group_name = g->gr_name;
  }
  std::string user = std::to_string(::geteuid());
  if (const struct passwd* pw = ::getpwuid(::geteuid())) user = pw->pw_name;
  return fmt::format(
      "{}: {}: the port belongs to group {} and user {} may not open it; add the user to the "
      "group (sudo usermod -aG {} {}, then log in again or restart the service)",
      path, errno_text(err), group_name, user, group_name, user);
}

SerialPort& SerialPort::operator=(SerialPort&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

std::string SerialPort::open(const std::string& path, const SerialSettings& line) {
  close();
  // O_NOCTTY: a serial instrument must never become our controlling terminal.
  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return describe_open_error(path, errno);
  fd_ = fd;

  termios tio{};
  if (::tcgetattr(fd_, &tio) != 0) {
    const int err = errno;
    close();
    return fmt::format("{}: not a serial port ({})", path, errno_text(err));
  }
  ::cfmakeraw(&tio);
  tio.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
  tio.c_cflag |= CLOCAL | CREAD | size_flag(line.data_bits);
  if (line.parity != Parity::kNone) tio.c_cflag |= PARENB;
  if (line.parity == Parity::kOdd) tio.c_cflag |= PARODD;
  if (line.stop_bits == 2) tio.c_cflag |= CSTOPB;
  tio.c_iflag &= ~(IXON | IXOFF | IXANY);
  if (line.flow_control == FlowControl::kRtsCts) tio.c_cflag |= CRTSCTS;
  if (line.flow_control == FlowControl::kXonXoff) tio.c_iflag |= IXON | IXOFF;
  // VMIN 1 with O_NONBLOCK: "no data" is EAGAIN, so a read of 0 means a hang-up.
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  const speed_t speed = speed_of(line.baud);
  ::cfsetispeed(&tio, speed);
  ::cfsetospeed(&tio, speed);
  if (::tcsetattr(fd_, TCSANOW, &tio) != 0) {
    const int err = errno;
    close();
    const char parity = line.parity == Parity::kEven  ? 'e'
                        : line.parity == Parity::kOdd ? 'o'
                                                      : 'n';
    return fmt::format("{}: cannot set {} baud {}{}{}: {}", path, line.baud, line.data_bits, parity,
                       line.stop_bits, errno_text(err));
  }
  flush_input();
  return {};
}

void SerialPort::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SerialPort::flush_input() noexcept {
  if (fd_ >= 0) ::tcflush(fd_, TCIFLUSH);
}

SerialPort::Status SerialPort::read_available(std::string& out, std::string& error,
                                              std::size_t limit) {
  if (fd_ < 0) {
    error = "port not open";
    return Status::kLost;
  }
  char buf[4096];
  std::size_t total = 0;
  while (total < limit) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) {
      // A tty in non-blocking raw mode reads 0 only after a hang-up.
      error = "the device hung up";
      return Status::kLost;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::kOk;
    error = fmt::format("read failed: {}", errno_text(errno));
    return Status::kLost;
  }
  return Status::kOk;
}

bool SerialPort::wait_readable(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  const int rc = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, timeout.count())));
  return rc > 0;
}

std::string SerialPort::write_all(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return "port not open";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return fmt::format("write failed: {}", errno_text(errno));
    }
    // The output buffer is full (flow control held us back): wait for room.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "write timed out (flow control?)";
    pollfd p{fd_, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return {};
}

}  // namespace fieldgate
