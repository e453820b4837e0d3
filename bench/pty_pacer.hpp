// A serial line at a real baud rate for pty pairs, which have none: two pty
// pairs and a relay between their masters that lets one character through
// every 11 bits / baud (start, 8 data, parity or second stop, stop), in both
// directions, one direction at a time like a half-duplex RS-485 pair. The
// gateway opens `gateway_port()`, the simulator `device_port()`.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace fieldgate::bench {

class PtyPacer {
 public:
  explicit PtyPacer(int baud);  // throws std::runtime_error
  ~PtyPacer();
  PtyPacer(const PtyPacer&) = delete;
  PtyPacer& operator=(const PtyPacer&) = delete;

  [[nodiscard]] const std::string& gateway_port() const noexcept { return gateway_path_; }
  [[nodiscard]] const std::string& device_port() const noexcept { return device_path_; }
  [[nodiscard]] std::chrono::nanoseconds char_time() const noexcept { return char_time_; }

 private:
  void run();
  std::chrono::nanoseconds char_time_;
  int gw_master_ = -1, gw_slave_ = -1, dev_master_ = -1, dev_slave_ = -1;
  std::string gateway_path_, device_path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace fieldgate::bench
