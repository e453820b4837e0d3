// CommandRouter: MQTT commands → the worker that owns the device's bus, and
// each outcome back as a result message. Everything that can be refused is
// refused here, before a command is queued: unknown or read-only point, a
// payload too large, not UTF-8, nested too deep or without a usable value,
// the wrong kind of value, outside min/max or `allowed`, a retained
// (replayed) message, a "ts" too old or in the future, a bus whose queue is
// full ("busy"). The worker refuses a command whose deadline passed while it
// waited in the queue.
//
// Every command received gets exactly one result on
// "<command topic>/<result_suffix>", and an audit line: always for a command
// that was queued for a bus; for refusals, RefusalLogLimit::lines per window
// one by one and the rest counted in one summary line per window, so a flood
// of bad commands cannot flood the log.
//
// Nothing throws out of handle() (Paho's thread) or out of a write's `done`
// callback (a poll worker's thread).
//
// The Modbus server's writes (submit_write) take the same path from the
// checks on: one gate to the buses, one audit log, one result topic.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridge/commands.hpp"
#include "bridge/forwarder.hpp"
#include "bridge/topics.hpp"
#include "config/config.hpp"
#include "gateway/scheduler.hpp"

namespace fieldgate::gateway {

/// One result: {"id","device","point","value","status","error","readback","ts","ts_ms"}.
struct CommandResult {
  nlohmann::json id;  // as sent, null if none
  std::string device;
  std::string point;
  nlohmann::json value;     // as requested, null if unusable
  std::string status;       // "ok", "rejected", "busy", "error", "expired"
  std::string error;        // "" when ok (or a note on the read-back)
  nlohmann::json readback;  // ok only: the value read back, null if none
  std::int64_t ts_ms = 0;
};
/// The result as JSON text; never throws on bad UTF-8 (it becomes U+FFFD).
[[nodiscard]] std::string to_json(const CommandResult& result);

class CommandRouter {
 public:
  /// Publishes a result: topic, JSON payload, QoS (thread-safe, from any thread).
  using Publish = std::function<void(std::string, std::string, int)>;
  using Clock = std::chrono::steady_clock;

  /// Refusals logged one by one per window; the rest are summarised.
  struct RefusalLogLimit {
    std::size_t lines = 10;
    Clock::duration window = std::chrono::seconds(10);
  };

  explicit CommandRouter(Publish publish);
  CommandRouter(Publish publish, RefusalLogLimit limit);
  /// Writes the summary of refusals not yet reported.
  ~CommandRouter();
  CommandRouter(const CommandRouter&) = delete;
  CommandRouter& operator=(const CommandRouter&) = delete;

  /// From now on, commands go to `scheduler` for the points of `config`,
  /// which the router shares (and never changes).
  void attach(std::shared_ptr<const config::Config> config, Scheduler& scheduler);
  /// The same on a copy of `config` (tests).
  void attach(const config::Config& config, Scheduler& scheduler);
  /// No scheduler: commands are answered "error" until the next attach()
  /// (reload, shutdown). Call before the scheduler stops. Writes the summary
  /// of refusals held back so far.
  void detach();

  /// The command topics of every writable point of the attached config.
  [[nodiscard]] std::vector<std::string> command_topics() const;

  /// Handles one command (from Paho's thread). Never throws.
  void handle(const bridge::IncomingCommand& command) noexcept;

  /// Hears the result of a write that did not come from MQTT.
  using Reply = std::function<void(const CommandResult&)>;
  /// A write from another source than MQTT (the Modbus server), in the point's units.
  struct ExternalWrite {
    std::string device;
    std::string point;
    Value value;
    std::string source;  // for the audit line: "modbus client 127.0.0.1:40000 unit 1 FC6"
    nlohmann::json id;   // echoed in the result message
    Reply reply;         // exactly once: at once when refused, else from the worker's thread
  };
  /// The checks, bus queue, deadline (command_max_age from now), audit line
  /// and result message of an MQTT command to the same point. Never throws.
  void submit_write(ExternalWrite write) noexcept;
  /// Queues `job` (its `action` set) on the worker of its device like a
  /// write, without an audit line (a passthrough read). Never throws.
  [[nodiscard]] Submitted submit_job(WriteCommand job) noexcept;

  /// Writes the summary line of the refusals not logged one by one, once
  /// their window is over (`fieldgate run` calls it every second or so;
  /// handle() calls it too).
  void flush_log(Clock::time_point now = Clock::now()) noexcept;

 private:
  // A point that a command names, made when the command arrives; both
  // pointers share the configuration, so a write's callback keeps it alive
  // through a reload.
  struct Target {
    std::shared_ptr<const config::DeviceConfig> device;
    std::shared_ptr<const config::PointConfig> point;  // null: not writable
    std::string point_name;
  };
  // Every point of the configuration has a command topic, writable or not
  // (a command to a read-only point is answered too). Nothing is stored per
  // point but the hash of that topic and the point's place in topics_ (16
  // bytes; the topics themselves cost 2.5 MB with 10,000 points); a hit is
  // confirmed by expanding the point's topic again.
  struct TopicHash {
    std::uint64_t hash;
    std::uint32_t point;  // index in topics_
  };
  [[nodiscard]] static std::uint64_t hash_topic(std::string_view topic) noexcept;
  /// The point whose command topic `topic` is, if any (mutex_ held).
  [[nodiscard]] std::optional<std::size_t> point_of_topic(std::string_view topic) const;
  [[nodiscard]] Target target_at(std::size_t i) const;              // mutex_ held
  [[nodiscard]] std::string command_topic_at(std::size_t i) const;  // mutex_ held
  // The refusals of the current window.
  struct RefusalLog {
    Clock::time_point window_start{};
    std::size_t logged = 0;                     // one by one
    std::map<std::string, std::uint64_t> held;  // not logged, by status
    std::string last;                           // the last one not logged
  };

  // Where a command's result goes, and whether it was given (or is left to
  // the write's `done`).
  struct Answer {
    std::string topic;  // "" until the command is known to be one of ours
    int qos = 1;
    bool given = false;
  };
  void route(const bridge::IncomingCommand& command, Answer& answer);
  /// Where a write's result goes and what the audit line says it came from.
  struct Origin {
    std::string result_topic;
    std::string source;  // "topic <command topic>", or the Modbus client
    int qos = 1;
    Reply reply;  // besides the result message, for a write not from MQTT
  };
  /// Checks `value` for `target` and queues the write; every refusal is
  /// answered here. Releases `lock` (mutex_) before answering.
  void check_and_queue(std::unique_lock<std::mutex>& lock, const Target& target, Origin origin,
                       CommandResult result, Value value, Clock::time_point deadline);
  /// Logs and publishes one result; `refused`: answered without reaching a
  /// queue (subject to the refusal log limit).
  void finish(const Target& target, const Origin& origin, CommandResult result,
              bool refused) noexcept;
  void log_refusal(const std::string& line, const std::string& status);
  void write_summary(Clock::time_point now);  // log_mutex_ held

  Publish publish_;
  mutable std::mutex mutex_;
  std::unique_ptr<const bridge::TopicMap> topics_;  // the attached configuration's points
  std::vector<TopicHash> by_topic_;                 // sorted by hash
  std::string result_suffix_;                       // result topic = command topic + "/" + this
  Scheduler* scheduler_ = nullptr;
  int qos_ = 1;
  std::chrono::milliseconds max_age_{10000};
  std::uint64_t max_size_ = config::MqttConfig{}.command_max_size;

  RefusalLogLimit limit_;
  std::mutex log_mutex_;
  RefusalLog refusals_;  // guarded by log_mutex_
};

/// A router whose results go out through `forwarder`, which hands it every
/// command (set before the forwarder starts).
[[nodiscard]] std::unique_ptr<CommandRouter> make_command_router(bridge::Forwarder& forwarder);

/// Points `router` at `scheduler` for `config` and subscribes the forwarder
/// to exactly the command topics of its writable points.
void attach_commands(CommandRouter& router, bridge::Forwarder& forwarder,
                     std::shared_ptr<const config::Config> config, Scheduler& scheduler);

}  // namespace fieldgate::gateway
