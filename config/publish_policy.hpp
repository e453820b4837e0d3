// A point's publish policy: which of its readings go to the store and on to
// MQTT. Plain data, set per device with a per-point override
// (`publish`, `deadband`, `min_interval`, `max_interval`); the gateway's
// PublishFilter (gateway/publish_filter.hpp) applies it before the store, so a
// reading held back costs neither a write to the SD card nor the uplink.
#pragma once

#include <chrono>

namespace fieldgate::config {

/// `publish = "always"` (every reading) or `"on_change"`.
enum class PublishMode { kAlways, kOnChange };

/// How far a number must move from the last published value to count as a
/// change: `amount` in the point's units, or, when `percent`, that percentage
/// of the last published value's magnitude.
struct Deadband {
  double amount = 0.0;
  bool percent = false;

  friend bool operator==(const Deadband&, const Deadband&) = default;
};

struct PublishPolicy {
  PublishMode mode = PublishMode::kAlways;
  Deadband deadband;  // on_change: a smaller move is no change
  /// Never publish a point more often than this (0: no limit). A change of
  /// quality is published at once regardless.
  std::chrono::milliseconds min_interval{0};
  /// on_change: publish at least this often, even unchanged (0: never), so
  /// that consumers see the point is alive.
  std::chrono::milliseconds max_interval{0};

  friend bool operator==(const PublishPolicy&, const PublishPolicy&) = default;
};

}  // namespace fieldgate::config
