// The drivers' notes on their devices (drivers::DeviceNotes: the SunSpec
// layout a driver walked) kept in the store's meta, so that `fieldgate run`
// started while a device is unreachable still knows what to read.
#pragma once

#include <fmt/format.h>

#include "bridge/store.hpp"
#include "drivers/driver.hpp"

namespace fieldgate::gateway {

/// Notes under "<key>.<device>" in the store (bridge::Store::note). With
/// `forget_kept`, what an earlier run kept is not read (`run --rediscover`):
/// every driver finds out again, and what it finds replaces the old note.
class StoreDeviceNotes final : public drivers::DeviceNotes {
 public:
  StoreDeviceNotes(bridge::Store& store, bool forget_kept) : store_(store), forget_(forget_kept) {}

  std::optional<std::string> load(std::string_view device, std::string_view key) override {
    if (forget_) return std::nullopt;
    return store_.note(fmt::format("{}.{}", key, device));
  }
  void save(std::string_view device, std::string_view key, std::string text) override {
    store_.set_note(fmt::format("{}.{}", key, device), std::move(text));
  }

 private:
  bridge::Store& store_;
  const bool forget_;
};

}  // namespace fieldgate::gateway
