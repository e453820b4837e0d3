// Test support: build drivers from an inline TOML string and read them once,
// through the same registry, drivers and scheduler the binary uses.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/reading.hpp"
#include "drivers/registry.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::testing {

class InlineGateway {
 public:
  explicit InlineGateway(const std::string& toml)
      : config_(fieldgate::test_support::load_config_string(toml, "inline.toml")),
        registry_(drivers::make_default_registry()),
        drivers_(drivers::create_drivers(config_, registry_, shared_)) {}

  /// Polls every point of every device once; readings by "device/point".
  std::map<std::string, Reading> read_all() {
    std::map<std::string, Reading> out;
    for (auto& driver : drivers_) {
      for (auto& reading : driver->poll(drivers::Clock::now(), true)) {
        auto key = reading.device + "/" + reading.point;
        out.emplace(std::move(key), std::move(reading));
      }
    }
    return out;
  }

  [[nodiscard]] const config::Config& config() const noexcept { return config_; }
  [[nodiscard]] drivers::Driver& driver(std::size_t i) { return *drivers_.at(i); }
  /// Hands the drivers over (to a Scheduler); the fixture keeps the shared links alive.
  std::vector<std::unique_ptr<drivers::Driver>> take_drivers() { return std::move(drivers_); }

 private:
  config::Config config_;
  drivers::DriverRegistry registry_;
  drivers::SharedResources shared_;
  std::vector<std::unique_ptr<drivers::Driver>> drivers_;
};

/// The value of a good reading as T; fails the calling test otherwise.
template <class T>
T value_of(const std::map<std::string, Reading>& readings, const std::string& key) {
  auto it = readings.find(key);
  if (it == readings.end()) throw std::runtime_error("no reading for " + key);
  if (it->second.quality != Quality::kGood) {
    throw std::runtime_error(key + ": " + std::string(to_string(it->second.quality)) + " " +
                             it->second.error);
  }
  if (!std::holds_alternative<T>(it->second.value)) {
    throw std::runtime_error(key + ": unexpected value type, value " +
                             format_value(it->second.value));
  }
  return std::get<T>(it->second.value);
}

}  // namespace fieldgate::testing
