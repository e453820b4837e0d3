// Publish policies applied to readings before the store: `on_change` with a
// deadband, `min_interval`, `max_interval` (config/publish_policy.hpp).
// decide() is the rule for one reading against what was last published of
// its point; PublishFilter keeps that memory for every point of a
// configuration and thins the batches the drivers hand over.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.hpp"
#include "config/publish_policy.hpp"
#include "core/reading.hpp"

namespace fieldgate::gateway {

/// What was last let through for one point.
struct LastPublished {
  bool any = false;  // nothing yet: the next reading goes through
  Value value;
  Quality quality = Quality::kGood;
  std::int64_t ts_ms = 0;  // its source_ts_ms
};

/// Why a reading goes through or is held back.
enum class Verdict {
  kFirst,           // the point's first reading since start or reload
  kQualityChanged,  // good ↔ bad, or one failure for another: always published
  kAlways,          // publish = "always" (and min_interval allows it)
  kChanged,         // on_change: moved more than the deadband
  kHeartbeat,       // on_change: unchanged, but max_interval has passed
  kClockBack,       // the clock went back past the last one published: published, memory restarts
  kTooSoon,         // held back: min_interval has not passed
  kUnchanged,       // held back: on_change and within the deadband
};

[[nodiscard]] constexpr bool publishes(Verdict v) noexcept {
  return v != Verdict::kTooSoon && v != Verdict::kUnchanged;
}

/// The policy's verdict on `reading`, given what was last published of its
/// point. Time is the readings' own timestamps (source_ts_ms). Numbers
/// (integer or floating) compare as doubles: a change is a move larger than
/// the deadband (a percentage is of the last published magnitude, so from
/// 0 every move counts); NaN to NaN and an infinity to the same one are no
/// change, NaN to a number and back are. Booleans and strings change when
/// they differ. A reading without a value (bad quality) after one of the same
/// quality is unchanged.
[[nodiscard]] Verdict decide(const config::PublishPolicy& policy, const LastPublished& last,
                             const Reading& reading) noexcept;

/// True when `now` differs from `before` by more than the deadband (see decide()).
[[nodiscard]] bool value_changed(const Value& before, const Value& now,
                                 const config::Deadband& deadband) noexcept;

/// The policies of one configuration, applied to the batches of its drivers.
/// Points are known up front, so each point's memory is only ever touched by
/// the worker thread that polls its device: apply() needs no lock.
class PublishFilter {
 public:
  /// Policies for every point of `config` (device default, point override).
  explicit PublishFilter(const config::Config& config);

  /// Removes from `batch` what the policies hold back and returns how many.
  /// Readings of points that publish every reading, or that the configuration
  /// does not name, pass untouched. On a
  /// device with a per-device format (device-json), a point's max_interval
  /// heartbeat lets the whole poll through (the points held back as
  /// unchanged, not those within min_interval): its message is then a full
  /// snapshot; otherwise it holds only what the policies let through.
  std::uint64_t apply(Batch& batch);

  /// Readings held back since construction, all points.
  [[nodiscard]] std::uint64_t suppressed() const noexcept;
  /// The same per device, for every device of the configuration.
  [[nodiscard]] std::map<std::string, std::uint64_t> suppressed_by_device() const;
  /// True when some point's policy can hold readings back (not all "always"
  /// without min_interval): otherwise apply() has nothing to do.
  [[nodiscard]] bool active() const noexcept { return active_; }

 private:
  struct PointState {
    config::PublishPolicy policy;
    LastPublished last;
    std::atomic<std::uint64_t>* held_back;  // its device's count, in by_device_
    bool whole_poll = false;  // its device's format is per-device: heartbeats take the poll
  };
  static void make_key(std::string& out, std::string_view device, std::string_view point);

  std::map<std::string, std::atomic<std::uint64_t>, std::less<>> by_device_;  // held back
  // The points whose policy can hold readings back; never rehashed after construction.
  std::unordered_map<std::string, PointState> points_;
  bool active_ = false;
};

}  // namespace fieldgate::gateway
