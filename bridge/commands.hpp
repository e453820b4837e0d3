// Commands from MQTT to devices, as the bridge sees them: a message that
// arrived on a command topic, handed on untouched (the bridge knows nothing of
// devices or registers), and the results it publishes back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace fieldgate::bridge {

/// One message received on a command topic.
struct IncomingCommand {
  std::string topic;
  std::string payload;
  std::chrono::steady_clock::time_point arrived;
  /// MQTT 5 Message Expiry Interval still left when it arrived, if the sender set one.
  std::optional<std::chrono::seconds> expiry;
  /// Sent by the broker because it was retained: an old command, replayed at
  /// subscription. Never to be executed.
  bool retained = false;
};

/// Called on Paho's thread for every command; must be quick and must not throw.
using CommandHandler = std::function<void(IncomingCommand)>;

/// What became of the command results handed to the forwarder, since it
/// started. Every result ends up in exactly one of the two.
struct ResultCounts {
  /// Confirmed by the broker (QoS 1, 2) or written to it (QoS 0).
  std::uint64_t published = 0;
  /// Never published: not connected, the result queue was full (a flood of
  /// commands), the session ended first, or the client refused it.
  std::uint64_t dropped = 0;
};

}  // namespace fieldgate::bridge
