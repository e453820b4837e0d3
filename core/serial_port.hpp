// SerialPort: an RAII file descriptor on a tty (or pty) set to raw mode with
// termios: baud, parity, data and stop bits, flow control. Non-blocking; the
// caller waits with wait_readable(). Reopened by path, so a USB adapter that
// vanished and came back (or a re-created symlink) is found again.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace fieldgate {

enum class Parity { kNone, kEven, kOdd };
enum class FlowControl { kNone, kRtsCts, kXonXoff };

/// How a serial line is driven: the settings every user of a serial port
/// shares (an RS-485 bus of Modbus RTU devices, one serial instrument).
struct SerialSettings {
  std::string port;  // e.g. /dev/ttyUSB0
  int baud = 9600;
  Parity parity = Parity::kNone;
  int data_bits = 8;
  int stop_bits = 1;
  FlowControl flow_control = FlowControl::kNone;
};


/// Why opening the serial port `path` failed with `err` (an errno), in words a
/// technician can act on: for a permission error, the port's group and the
/// command that adds this process's user to it.
[[nodiscard]] std::string describe_open_error(const std::string& path, int err);

class SerialPort {
 public:
  SerialPort() = default;
  ~SerialPort() { close(); }
  SerialPort(const SerialPort&) = delete;
  SerialPort& operator=(const SerialPort&) = delete;
  SerialPort(SerialPort&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SerialPort& operator=(SerialPort&& other) noexcept;

  /// Opens `path` with the line settings and drops anything already buffered.
  /// Returns "" on success, else why not ("/dev/ttyUSB0: No such file or directory").
  [[nodiscard]] std::string open(const std::string& path, const SerialSettings& line);
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }

  enum class Status { kOk, kLost };
  /// Appends every byte available now (at most `limit`) to `out`, never
  /// waiting. kLost: the device hung up or vanished (EIO, ENODEV, EOF); `error` says how.
  Status read_available(std::string& out, std::string& error, std::size_t limit = 65536);

  /// Waits until bytes can be read, at most `timeout`. False on timeout.
  /// True also on a hang-up, which the next read reports.
  bool wait_readable(std::chrono::milliseconds timeout);

  /// Writes all of `bytes` within `timeout`; "" on success, else why not.
  [[nodiscard]] std::string write_all(std::string_view bytes, std::chrono::milliseconds timeout);

  /// Drops unread input (stale bytes before a request).
  void flush_input() noexcept;

 private:
  int fd_ = -1;
};

}  // namespace fieldgate
