// Test support: a simulated Modbus device served from a thread of the test.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "drivers/sim/modbus_server.hpp"

namespace fieldgate::testing {

class SimThread {
 public:
  explicit SimThread(std::unique_ptr<sim::ModbusSimServer> server)
      : server_(std::move(server)), thread_([this] { server_->run(stop_); }) {}
  ~SimThread() {
    stop_ = true;
    thread_.join();
  }
  SimThread(const SimThread&) = delete;
  SimThread& operator=(const SimThread&) = delete;

  [[nodiscard]] sim::ModbusSimServer& server() { return *server_; }

 private:
  std::unique_ptr<sim::ModbusSimServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace fieldgate::testing
