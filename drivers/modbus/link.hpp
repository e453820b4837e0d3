// ModbusLink: one libmodbus context (a TCP connection or a serial port) shared
// by every device on the same channel. Owned by shared_ptr from the drivers
// that use it, used only from the channel's worker thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <modbus/modbus.h>

#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::modbus {

/// Sorts the errno of a failed libmodbus call into a reading's quality: a
/// timeout, a Modbus exception (EMBXILFUN..EMBXGTAR), a frame refused (CRC,
/// length, unit id), or else a lost connection.
[[nodiscard]] Quality quality_of_errno(int err) noexcept;

/// Why a serial port could not be opened: another process holds its lock.
[[nodiscard]] std::string busy_message(std::string_view port);

struct ModbusContextDeleter {
  void operator()(modbus_t* ctx) const noexcept;
};
using ModbusContextPtr = std::unique_ptr<modbus_t, ModbusContextDeleter>;

class ModbusLink {
 public:
  /// Throws std::runtime_error when libmodbus refuses the parameters.
  static std::shared_ptr<ModbusLink> tcp(const std::string& host, int port);
  static std::shared_ptr<ModbusLink> rtu(const config::BusConfig& bus);

  /// Connects if not connected. Returns "" on success, else the reason. A
  /// serial port is locked (flock LOCK_EX) while open, so a second master on
  /// the line (scan, poll, another gateway) is refused with busy_message().
  [[nodiscard]] std::string ensure_connected();
  void disconnect() noexcept;
  [[nodiscard]] bool connected() const noexcept { return connected_; }

  /// Prepares the context for one transaction with `unit_id` and the device's
  /// timeouts, and on a serial line waits out the inter-frame silence.
  void begin_transaction(int unit_id, config::Duration response_timeout,
                         config::Duration byte_timeout);
  /// Marks the end of a transaction (start of the silent interval).
  void end_transaction() noexcept;
  /// Discards bytes still in flight after a failed transaction (a late answer
  /// must not be taken for the next request's).
  void flush() noexcept;

  [[nodiscard]] modbus_t* context() const noexcept { return ctx_.get(); }
  [[nodiscard]] const std::string& describe() const noexcept { return description_; }
  [[nodiscard]] bool is_serial() const noexcept { return serial_; }

  /// t3.5 for a baud rate: 3.5 characters of 11 bits, fixed 1750 us above 19200 baud.
  [[nodiscard]] static std::chrono::microseconds t35(int baud) noexcept;

  struct Passkey {  // only the factories above construct a link
    explicit Passkey() = default;
  };
  ModbusLink(Passkey, ModbusContextPtr ctx, std::string description, bool serial,
             std::chrono::microseconds inter_frame_delay, bool rs485);

 private:
  ModbusContextPtr ctx_;
  std::string description_;
  std::string serial_port_;  // RTU: the port's path, for a permission error
  bool serial_;
  bool rs485_;
  bool connected_ = false;
  std::chrono::microseconds inter_frame_delay_;
  std::chrono::steady_clock::time_point last_end_{};
};

}  // namespace fieldgate::modbus
