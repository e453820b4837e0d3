// Acquisition for one configuration of `fieldgate run`: the drivers, the
// resources their channels share, and the Scheduler's workers that poll them
// into the store through the publish policies. A reload replaces it whole
// (the policies' memory starts again: each point's next reading goes through).
#pragma once

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "bridge/store.hpp"
#include "config/config.hpp"
#include "drivers/register_cache.hpp"
#include "drivers/registry.hpp"
#include "gateway/availability.hpp"
#include "gateway/device_notes.hpp"
#include "gateway/publish_filter.hpp"
#include "gateway/scheduler.hpp"

namespace fieldgate::gateway {

/// Polling starts when it is built and stops when it goes. The drivers share
/// `config` (its devices and points are held once). Each poll's outcome goes
/// to `availability` (which outlives this), readings to the store.
class Acquisition {
 public:
  /// `rediscover`: drivers do not take what they noted in an earlier run
  /// (the SunSpec layout) but find it out again (`run --rediscover`).
  Acquisition(const std::shared_ptr<const config::Config>& config,
              const drivers::DriverRegistry& registry, bridge::Store& store,
              AvailabilityBoard& availability, bool rediscover = false)
      : filter_(*config),
        availability_(availability),
        quiet_while_dead_(config->sparkplug.has_value()),
        scheduler_(
            *config,
            keep_caches(drivers::create_drivers(
                config, registry, shared_, std::make_shared<StoreDeviceNotes>(store, rediscover))),
            [this, &store](Batch&& batch) {
              // One poll of one device: what its policy held back is that device's.
              if (batch.empty()) return;
              const std::string device = batch.front().device;
              if (dead_and_silent(batch)) {
                store.count_suppressed(device, batch.size());
                return;
              }
              if (const auto held_back = filter_.apply(batch); held_back > 0) {
                store.count_suppressed(device, held_back);
              }
              if (!batch.empty()) store.append(std::move(batch));
            },
            [&availability](const std::string& device, const drivers::DeviceHealth& health) {
              availability.observe(device, health);
            }) {
    scheduler_.start();
  }
  ~Acquisition() { scheduler_.stop(); }
  Acquisition(const Acquisition&) = delete;
  Acquisition& operator=(const Acquisition&) = delete;

  /// The scheduler's device status with what each device's policy held back
  /// and its availability.
  [[nodiscard]] std::vector<DeviceStatus> status() const {
    auto devices = scheduler_.status();
    const auto held_back = filter_.suppressed_by_device();
    const auto availability = availability_.states();
    for (auto& device : devices) {
      if (const auto it = held_back.find(device.device); it != held_back.end()) {
        device.suppressed = it->second;
      }
      if (const auto it = availability.find(device.device); it != availability.end()) {
        device.availability = it->second;
      }
    }
    return devices;
  }
  [[nodiscard]] std::vector<Scheduler::Progress> progress() const { return scheduler_.progress(); }
  [[nodiscard]] Scheduler& scheduler() { return scheduler_; }
  /// The register caches of the drivers that keep one, for the Modbus server.
  [[nodiscard]] const std::vector<std::shared_ptr<const drivers::RegisterCache>>& register_caches()
      const noexcept {
    return caches_;
  }

 private:
  // Sparkplug: once a device's DDEATH is due (the board says offline; the
  // scheduler tells it a poll's outcome before handing over the readings),
  // the failed reads of its next polls are not data: DDATA after DDEATH
  // breaks the host's view of the device, and the DDEATH already says what
  // they would. Counted as held back, like a publish policy's.
  [[nodiscard]] bool dead_and_silent(const Batch& batch) const {
    if (!quiet_while_dead_) return false;
    if (availability_.state_of(batch.front().device) != Availability::kOffline) return false;
    return std::none_of(batch.begin(), batch.end(),
                        [](const Reading& r) { return r.quality == Quality::kGood; });
  }

  // Notes each driver's register cache on the way to the scheduler.
  std::vector<std::unique_ptr<drivers::Driver>> keep_caches(
      std::vector<std::unique_ptr<drivers::Driver>> drivers) {
    for (const auto& driver : drivers) {
      if (auto cache = driver->register_cache()) caches_.push_back(std::move(cache));
    }
    return drivers;
  }

  std::vector<std::shared_ptr<const drivers::RegisterCache>> caches_;  // before the scheduler
  drivers::SharedResources shared_;  // outlives the scheduler's drivers
  PublishFilter filter_;             // outlives the workers that call it
  AvailabilityBoard& availability_;
  const bool quiet_while_dead_;  // Sparkplug (see dead_and_silent)
  Scheduler scheduler_;
};

}  // namespace fieldgate::gateway
