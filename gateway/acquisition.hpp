// Acquisition for one configuration of `fieldgate run`: the drivers, the
// resources their channels share, and the Scheduler's workers that poll them
// into the store. A reload replaces it whole.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "bridge/store.hpp"
#include "config/config.hpp"
#include "drivers/registry.hpp"
#include "gateway/scheduler.hpp"

namespace fieldgate::gateway {

/// Polling starts when it is built and stops when it goes. The drivers share
/// `config` (its devices and points are held once).
class Acquisition {
 public:
  Acquisition(const std::shared_ptr<const config::Config>& config,
              const drivers::DriverRegistry& registry, bridge::Store& store)
      : scheduler_(*config, drivers::create_drivers(config, registry, shared_),
                   [&store](Batch&& batch) { store.append(std::move(batch)); }) {
    scheduler_.start();
  }
  ~Acquisition() { scheduler_.stop(); }
  Acquisition(const Acquisition&) = delete;
  Acquisition& operator=(const Acquisition&) = delete;

  [[nodiscard]] std::vector<DeviceStatus> status() const { return scheduler_.status(); }
  [[nodiscard]] std::vector<Scheduler::Progress> progress() const { return scheduler_.progress(); }
  [[nodiscard]] Scheduler& scheduler() { return scheduler_; }

 private:
  drivers::SharedResources shared_;  // outlives the scheduler's drivers
  Scheduler scheduler_;
};

}  // namespace fieldgate::gateway
