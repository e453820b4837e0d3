// A driver that exists only for tests: "counter" devices count up from a
// configured `start`, each point by its own `step`, without any I/O. It is
// the proof that a driver plugs in from its own folder: its keys, their
// checks, its factory and its `check` text are registered here, and nothing
// in config/, bridge/, gateway/ or core/ knows it.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "config/driver_schema.hpp"
#include "config/loader_uplink.hpp"
#include "config/toml_section.hpp"
#include "core/clock.hpp"
#include "drivers/registry.hpp"

namespace fieldgate::test_support {

/// The counter's device keys: where it starts.
struct CounterDeviceSettings : config::DeviceSettings {
  std::int64_t start = 0;
};
/// The counter's point keys: how much a point grows per poll.
struct CounterPointSettings : config::PointSettings {
  std::int64_t step = 1;
};

class CounterSchema final : public config::DriverSchema {
 public:
  std::span<const std::string_view> names() const override { return kNames; }
  std::span<const std::string_view> device_keys() const override { return kDeviceKeys; }
  std::span<const std::string_view> point_keys() const override { return kPointKeys; }
  std::string foreign_key_message(std::string_view) const override {
    return "only allowed for driver \"counter\"";
  }

  std::unique_ptr<config::PointReader> read_device(config::Section& s, std::string_view,
                                                   config::DeviceConfig& device) const override {
    auto settings = std::make_shared<CounterDeviceSettings>();
    if (!s.has("start")) {
      s.missing("start", "driver \"counter\" needs a start");
    } else if (const auto start = s.integer("start", 0, 1'000'000)) {
      settings->start = *start;
    }
    device.settings = std::move(settings);
    return std::make_unique<Points>();
  }

 private:
  class Points final : public config::PointReader {
   public:
    config::PointConfig read(config::Section& s) override {
      config::PointConfig p;
      p.pos = s.pos();
      config::assign(p.name, s.name("name", config::Need::kRequired));
      config::assign(p.unit, s.bounded_string("unit", 16));
      config::read_point_uplink(s, p);
      auto settings = std::make_shared<CounterPointSettings>();
      config::assign(settings->step, s.integer("step", 1, 100));
      p.settings = std::move(settings);
      return p;
    }
  };

  static constexpr std::array<std::string_view, 1> kNames{"counter"};
  static constexpr std::array<std::string_view, 1> kDeviceKeys{"start"};
  static constexpr std::array<std::string_view, 1> kPointKeys{"step"};
};

/// Polls a counter device: every point's value is start + step × polls so far.
class CounterDriver final : public drivers::Driver {
 public:
  explicit CounterDriver(std::shared_ptr<const config::DeviceConfig> device)
      : device_(std::move(device)),
        settings_(dynamic_cast<const CounterDeviceSettings&>(*device_->settings)) {}

  const std::string& device() const noexcept override { return device_->name; }
  const std::string& channel() const noexcept override { return device_->name; }
  drivers::Clock::time_point next_due() const noexcept override { return next_due_; }

  Batch poll(drivers::Clock::time_point now, bool force) override {
    Batch out;
    if (!force && now < next_due_) return out;
    next_due_ = now + device_->poll_interval;
    const auto ts = unix_ms_now();
    for (const auto& point : device_->points) {
      const auto& step = dynamic_cast<const CounterPointSettings&>(*point.settings).step;
      out.push_back(Reading{device_->name,
                            point.name,
                            Value(settings_.start + step * polls_),
                            point.unit,
                            Quality::kGood,
                            ts,
                            0,
                            {}});
    }
    ++polls_;
    ++health_.polls;
    health_.connected = true;
    return out;
  }

  void close() noexcept override {}
  const drivers::DeviceHealth& health() const noexcept override { return health_; }

  std::vector<std::string> describe_plan() const override {
    std::vector<std::string> lines;
    for (const auto& point : device_->points) {
      lines.push_back(fmt::format("count {} by {}", point.name,
                                  dynamic_cast<const CounterPointSettings&>(*point.settings).step));
    }
    return lines;
  }

 private:
  std::shared_ptr<const config::DeviceConfig> device_;
  const CounterDeviceSettings& settings_;
  drivers::DeviceHealth health_;
  drivers::Clock::time_point next_due_{};
  std::int64_t polls_ = 0;
};

/// Adds driver "counter" to `registry`: the one line a new driver's folder adds.
inline void register_counter_driver(drivers::DriverRegistry& registry) {
  registry.add({"counter", std::make_shared<const CounterSchema>(),
                [](const config::DeviceConfig& device, drivers::DriverContext& ctx) {
                  return std::unique_ptr<drivers::Driver>(
                      std::make_unique<CounterDriver>(ctx.share(device)));
                },
                [](const config::DeviceConfig& device, const config::Config&) {
                  return fmt::format(
                      "counter from {}",
                      dynamic_cast<const CounterDeviceSettings&>(*device.settings).start);
                }});
}

}  // namespace fieldgate::test_support
