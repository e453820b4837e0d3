// A Modbus TCP server in the bench process with every table 10000 entries
// long (all zero), counting the requests it answers: the independent side of
// the requests-per-cycle figure, for maps larger than the power meter's.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace fieldgate::bench {

class RegisterBank {
 public:
  RegisterBank();  // listens on 127.0.0.1, an ephemeral port; throws on failure
  ~RegisterBank();
  RegisterBank(const RegisterBank&) = delete;
  RegisterBank& operator=(const RegisterBank&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] std::uint64_t served() const noexcept { return served_.load(); }

 private:
  void run();
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> served_{0};
  std::thread thread_;
};

}  // namespace fieldgate::bench
