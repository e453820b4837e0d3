// Per-device availability: "online" while a device answers, "offline" after
// `offline_after` polls in a row without an answer, published retained on the
// device's availability topic ([mqtt] availability_topic). State, not a
// reading: it never goes through the store. The scheduler's workers report
// each poll's outcome here; the availability hook (availability_hook.hpp)
// takes what changed and publishes it from the forwarder's thread, and all of
// it again on every connect (a clean session then loses nothing).
//
// A device starts "unknown" (nothing published: a retained state from an
// earlier run stays until the device answers or fails offline_after times);
// one answer makes it "online", offline_after failures in a row "offline".
// At a clean stop nothing is published: the gateway's own status topic says
// "offline" (birth, will), and a device's topic keeps the last state the
// gateway knew, the same after a stop as after a crash (docs/CONFIGURATION.md).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "drivers/driver.hpp"

namespace fieldgate::gateway {

/// What the availability topic of a device says.
enum class Availability {
  kUnknown,  // not decided yet: nothing published by this run
  kOnline,
  kOffline,
};

/// "unknown", "online", "offline".
[[nodiscard]] std::string_view to_string(Availability availability) noexcept;

/// The state after a poll that left the device's health at `health`: online
/// as soon as the last poll was answered, offline once `offline_after` polls
/// in a row went unanswered, else unchanged.
[[nodiscard]] Availability next_availability(Availability current,
                                             const drivers::DeviceHealth& health,
                                             int offline_after) noexcept;

/// Removed devices' topics waiting to be cleared (an empty retained message)
/// at most; beyond, the oldest is forgotten (logged). Reloads while the uplink
/// is down are what could pile them up.
inline constexpr std::size_t kMaxPendingClears = 4096;

/// Every device's availability and what is still to be published. Thread-safe:
/// workers call observe(), the forwarder's thread take()/published()/failed(),
/// the gateway set_devices() and states().
class AvailabilityBoard {
 public:
  /// One retained message; an empty payload clears the topic.
  struct Message {
    std::string topic;
    std::string payload;
    friend bool operator==(const Message&, const Message&) = default;
  };

  /// `on_change` (may be empty) is called, without the board's lock, when
  /// there is something new to publish: it wakes the forwarder.
  explicit AvailabilityBoard(std::function<void()> on_change = {});

  /// The devices of a (re)loaded configuration, with their topics expanded.
  /// A device kept keeps its state (a changed topic gets it, the old topic is
  /// cleared); a removed device's topic is cleared; a new device is unknown.
  void set_devices(const config::Config& config);

  /// A poll of `device` ended with `health` (a worker's thread).
  void observe(std::string_view device, const drivers::DeviceHealth& health);

  /// What to publish: with `everything` (a new session) every known state and
  /// pending clear, else only what changed since the last take().
  [[nodiscard]] std::vector<Message> take(bool everything);
  /// `message` was handed to the broker: a clear is done.
  void published(const Message& message);
  /// `message` could not be published: it is taken again next time.
  void failed(const Message& message);

  /// One device's state (unknown for a device the board does not know).
  [[nodiscard]] Availability state_of(std::string_view device) const;
  /// Each device's state, by name.
  [[nodiscard]] std::map<std::string, Availability, std::less<>> states() const;

 private:
  struct Tracked {
    std::string topic;
    int offline_after = 3;
    Availability state = Availability::kUnknown;
  };

  void clear_topic(const std::string& topic);  // with mutex_ held

  const std::function<void()> on_change_;
  mutable std::mutex mutex_;
  std::map<std::string, Tracked, std::less<>> devices_;
  std::map<std::string, std::string> changed_;  // topic → payload, one per topic
  std::vector<std::string> clears_;             // oldest first, at most kMaxPendingClears
};

}  // namespace fieldgate::gateway
