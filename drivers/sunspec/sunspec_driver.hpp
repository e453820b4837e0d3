// SunSpecDriver: a Modbus device (TCP or RTU, over the channel's shared
// ModbusLink) that describes its own registers. The first poll walks its
// model chain (walker.hpp), or takes the layout kept from an earlier run
// (DeviceNotes); every poll then reads the decoded models whole and publishes
// their points by the names of docs/SUNSPEC.md. A read that suggests the
// layout changed (a model header that moved, an address refused) walks the
// chain again at the next poll.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/driver.hpp"
#include "drivers/modbus/link.hpp"
#include "drivers/modbus/settings.hpp"
#include "drivers/sunspec/layout.hpp"
#include "drivers/sunspec/walker.hpp"

namespace fieldgate::sunspec {

/// The key of the layout in DeviceNotes (the store's meta: "<key>.<device>").
inline constexpr std::string_view kLayoutNote = "sunspec.layout";

class SunSpecDriver final : public drivers::Driver {
 public:
  SunSpecDriver(std::shared_ptr<const config::DeviceConfig> device, std::string channel,
                std::shared_ptr<modbus::ModbusLink> link,
                std::shared_ptr<drivers::DeviceNotes> notes);

  [[nodiscard]] const std::string& device() const noexcept override { return device_.name; }
  [[nodiscard]] const std::string& channel() const noexcept override { return channel_; }
  [[nodiscard]] drivers::Clock::time_point next_due() const noexcept override { return next_due_; }
  Batch poll(drivers::Clock::time_point now, bool force) override;
  void close() noexcept override { link_->disconnect(); }
  [[nodiscard]] const drivers::DeviceHealth& health() const noexcept override { return health_; }
  /// The model reads once the layout is known, else what the first poll does.
  [[nodiscard]] std::vector<std::string> describe_plan() const override;
  /// The model reads once the layout is known; before, the longest walk a
  /// chain within the limits allows plus the reads of what it may find.
  [[nodiscard]] std::size_t max_requests_per_poll() const override;

  /// The layout in use; nullopt until walked or loaded.
  [[nodiscard]] const std::optional<Layout>& layout() const noexcept { return layout_; }

 private:
  /// One read request of the plan: [start, start + count).
  struct Request {
    std::uint16_t start = 0;
    std::uint16_t count = 0;
  };

  ReadOutcome read_holding(std::uint16_t address, std::span<std::uint16_t> out);
  bool ensure_layout(std::string& first_error);
  void adopt(Layout layout, std::string_view how);
  void read_models(std::int64_t ts_ms, Batch& out, std::string& first_error, bool& answered);
  void fail_model(std::size_t index, const ReadOutcome& outcome, std::int64_t ts_ms,
                  Batch& out) const;
  void finish_poll(const std::string& first_error, bool answered);

  std::shared_ptr<const config::DeviceConfig> device_owner_;
  const config::DeviceConfig& device_;
  const modbus::ModbusDeviceConfig& settings_;
  std::string channel_;
  std::shared_ptr<modbus::ModbusLink> link_;
  std::shared_ptr<drivers::DeviceNotes> notes_;
  WalkLimits limits_;
  drivers::Clock::time_point next_due_{};
  std::optional<Layout> layout_;
  std::vector<std::string> prefixes_;  // per model of layout_
  std::vector<Request> requests_;
  std::vector<std::uint16_t> image_;  // registers from requests_.front().start on
  drivers::DeviceHealth health_;
};

/// The driver of a Modbus device with `model = "sunspec"` (the one call the
/// Modbus drivers' factory makes; `link` is the channel's shared one).
[[nodiscard]] std::unique_ptr<drivers::Driver> make_sunspec_driver(
    std::shared_ptr<const config::DeviceConfig> device, std::string channel,
    std::shared_ptr<modbus::ModbusLink> link, std::shared_ptr<drivers::DeviceNotes> notes);

}  // namespace fieldgate::sunspec
