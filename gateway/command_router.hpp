// CommandRouter: MQTT commands → the worker that owns the device's bus, and
// each outcome back as a result message. Everything that can be refused is
// refused here, before a command is queued: unknown or read-only point, a
// payload without a usable value, the wrong kind of value, outside min/max or
// `allowed`, a retained (replayed) message, an expired command. The worker
// refuses a command whose deadline passed while it waited in the queue.
//
// Every command is logged with what, when and the outcome; every command
// received gets exactly one result on "<command topic>/<result_suffix>".
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridge/commands.hpp"
#include "bridge/forwarder.hpp"
#include "config/config.hpp"
#include "gateway/scheduler.hpp"

namespace fieldgate::gateway {

/// One result: {"id","device","point","value","status","error","readback","ts","ts_ms"}.
struct CommandResult {
  nlohmann::json id;  // as sent, null if none
  std::string device;
  std::string point;
  nlohmann::json value;     // as requested, null if unusable
  std::string status;       // "ok", "rejected", "error", "expired"
  std::string error;        // "" when ok (or a note on the read-back)
  nlohmann::json readback;  // ok only: the value read back, null if none
  std::int64_t ts_ms = 0;
};
[[nodiscard]] std::string to_json(const CommandResult& result);

class CommandRouter {
 public:
  /// Publishes a result: topic, JSON payload, QoS (thread-safe, from any thread).
  using Publish = std::function<void(std::string, std::string, int)>;

  explicit CommandRouter(Publish publish);

  /// From now on, commands go to `scheduler` for the points of `config`.
  void attach(const config::Config& config, Scheduler& scheduler);
  /// No scheduler: commands are answered "error" until the next attach()
  /// (reload, shutdown). Call before the scheduler stops.
  void detach();

  /// The command topics of every writable point of the attached config.
  [[nodiscard]] std::vector<std::string> command_topics() const;

  /// Handles one command (from Paho's thread). Never throws.
  void handle(const bridge::IncomingCommand& command);

 private:
  // One per point of the configuration, writable or not (a command to a
  // read-only point is answered too), so it stays small: a device's settings
  // are shared by its points, and only writable points keep their settings.
  struct Target {
    std::shared_ptr<const config::DeviceConfig> device;  // without its points
    std::shared_ptr<const config::PointConfig> point;    // null: not writable
    std::string point_name;
  };

  void finish(const Target& target, const std::string& result_topic,
              const bridge::IncomingCommand& command, CommandResult result, int qos);

  Publish publish_;
  mutable std::mutex mutex_;
  std::map<std::string, Target, std::less<>> targets_;  // by command topic, every point
  std::string result_suffix_;                           // result topic = command topic + "/" + this
  Scheduler* scheduler_ = nullptr;
  int qos_ = 1;
  std::chrono::milliseconds max_age_{10000};
};

/// A router whose results go out through `forwarder`, which hands it every
/// command (set before the forwarder starts).
[[nodiscard]] std::unique_ptr<CommandRouter> make_command_router(bridge::Forwarder& forwarder);

/// Points `router` at `scheduler` for `config` and subscribes the forwarder
/// to exactly the command topics of its writable points.
void attach_commands(CommandRouter& router, bridge::Forwarder& forwarder,
                     const config::Config& config, Scheduler& scheduler);

}  // namespace fieldgate::gateway
