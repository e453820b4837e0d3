// A Modbus server (slave) on libmodbus serving a simulated device, over TCP or
// RTU. Used by `fieldgate simulate`, the demo and the integration tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace fieldgate::sim {

struct TcpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: an ephemeral port, see ModbusSimServer::port()
  // At least this many holding registers: a larger device for the bench's
  // fleet workload. Registers past the profile's own hold their address.
  int min_holding_registers = 0;
};

struct RtuServerOptions {
  std::string device;  // serial port or pty path
  int baud = 9600;
  config::Parity parity = config::Parity::kNone;
  int data_bits = 8;
  int stop_bits = 1;
  int unit_id = 1;  // requests to other unit ids are ignored, as on a real bus
};

class ModbusSimServer {
 public:
  /// Binds/opens at construction; throws std::runtime_error with the reason.
  static std::unique_ptr<ModbusSimServer> tcp(const TcpServerOptions& options,
                                              const std::string& profile = "power-meter");
  static std::unique_ptr<ModbusSimServer> rtu(const RtuServerOptions& options,
                                              const std::string& profile = "power-meter");
  virtual ~ModbusSimServer() = default;

  /// The bound TCP port (0 for RTU).
  [[nodiscard]] virtual int port() const noexcept = 0;

  /// Serves requests and advances the model until `stop` becomes true
  /// (checked at least every 100 ms). Call from one thread.
  virtual void run(const std::atomic<bool>& stop) = 0;

  /// Requests answered so far (any thread).
  [[nodiscard]] virtual std::uint64_t requests_served() const noexcept = 0;
};

}  // namespace fieldgate::sim
