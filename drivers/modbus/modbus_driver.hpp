// ModbusDriver: polls one Modbus device (a unit id behind a TCP endpoint or on
// an RS-485 bus) by executing its request plan over a shared ModbusLink.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/driver.hpp"
#include "drivers/modbus/link.hpp"
#include "drivers/modbus/plan.hpp"
#include "drivers/modbus/settings.hpp"
#include "drivers/modbus/transaction.hpp"
#include "drivers/register_cache.hpp"

namespace fieldgate::drivers {
class DriverRegistry;
}

namespace fieldgate::modbus {

class ModbusDriver final : public drivers::Driver {
 public:
  /// `device` is shared, not copied: `fieldgate run` hands every driver its
  /// part of the running configuration, so the points are held once.
  ModbusDriver(std::shared_ptr<const config::DeviceConfig> device, std::string channel,
               std::shared_ptr<ModbusLink> link);
  ModbusDriver(config::DeviceConfig device, std::string channel, std::shared_ptr<ModbusLink> link)
      : ModbusDriver(std::make_shared<const config::DeviceConfig>(std::move(device)),
                     std::move(channel), std::move(link)) {}

  [[nodiscard]] const std::string& device() const noexcept override { return device_.name; }
  [[nodiscard]] const std::string& channel() const noexcept override { return channel_; }
  [[nodiscard]] drivers::Clock::time_point next_due() const noexcept override;
  Batch poll(drivers::Clock::time_point now, bool force) override;
  void close() noexcept override { link_->disconnect(); }
  [[nodiscard]] const drivers::DeviceHealth& health() const noexcept override { return health_; }
  [[nodiscard]] std::vector<std::string> describe_plan() const override;
  [[nodiscard]] std::size_t max_requests_per_poll() const override { return groups_.size(); }
  /// Encodes (refusing what does not fit, before any traffic), writes with
  /// FC5/FC15 or FC6/FC16 (write_function), and reads the point back. A bit of
  /// a register is read, changed and written back. See modbus_write.cpp.
  drivers::WriteResult write(const std::string& point, const Value& value) override;
  /// A master's read passed through the Modbus server: one request, as a poll's.
  drivers::WriteResult read_registers(drivers::RegisterTable table, std::uint16_t start,
                                      std::span<std::uint16_t> out) override;
  /// Every request group's registers as last read (one block per group).
  [[nodiscard]] std::shared_ptr<const drivers::RegisterCache> register_cache() const override {
    return cache_;
  }

 private:
  struct Group {
    ReadRequest request;
    drivers::Clock::time_point next_due{};  // epoch: due at once
  };
  using Outcome = RequestOutcome;

  Outcome execute(const ReadRequest& request, std::vector<std::uint16_t>& registers,
                  std::vector<std::uint8_t>& bits);
  void decode_into(const ReadRequest& request, const std::vector<std::uint16_t>& registers,
                   const std::vector<std::uint8_t>& bits, std::int64_t ts_ms, Batch& out) const;
  void fail_into(const ReadRequest& request, const Outcome& outcome, std::int64_t ts_ms,
                 Batch& out) const;
  /// One write-path transaction: `call` returns libmodbus's rc, `expected` on
  /// success. Counts health like a read; reconnects once if the link was gone.
  Outcome transact(const std::string& what, const std::function<int(modbus_t*)>& call,
                   int expected);
  /// The device's unit id and timeouts, for run_request().
  [[nodiscard]] Addressee addressee() const noexcept;
  /// Reads `point` as a poll would (for the read-back).
  Outcome read_point(const config::PointConfig& point, Value& value);

  std::shared_ptr<const config::DeviceConfig> device_owner_;
  const config::DeviceConfig& device_;  // *device_owner_
  const ModbusDeviceConfig& settings_;  // device_of(device_)
  std::string channel_;
  std::shared_ptr<ModbusLink> link_;
  std::vector<Group> groups_;
  std::shared_ptr<drivers::RegisterCache> cache_;  // block i is groups_[i]
  drivers::DeviceHealth health_;
};

/// Adds "modbus-tcp" and "modbus-rtu" to the registry.
void register_drivers(drivers::DriverRegistry& registry);

}  // namespace fieldgate::modbus
