// Commands from MQTT to devices, as the bridge sees them: a message that
// arrived on a command topic, handed on untouched (the bridge knows nothing of
// devices or registers), and the results it publishes back.
#pragma once

#include <chrono>
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

}  // namespace fieldgate::bridge
