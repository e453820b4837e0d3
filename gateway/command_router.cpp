#include "gateway/command_router.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge/topics.hpp"
#include "gateway/command_check.hpp"

namespace fieldgate::gateway {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-11-25T12:38:18.543Z"
std::string iso_time(std::int64_t unix_ms) {
  const auto t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
}

std::string status_of(drivers::WriteStatus s) {
  switch (s) {
    case drivers::WriteStatus::kOk:
      return "ok";
    case drivers::WriteStatus::kRejected:
      return "rejected";
    case drivers::WriteStatus::kFailed:
      break;
  }
  return "error";
}

}  // namespace

std::string to_json(const CommandResult& r) {
  nlohmann::ordered_json j;
  j["id"] = r.id;
  j["device"] = r.device;
  j["point"] = r.point;
  j["value"] = r.value;
  j["status"] = r.status;
  if (!r.error.empty()) j["error"] = r.error;
  if (r.status == "ok") j["readback"] = r.readback;
  j["ts"] = iso_time(r.ts_ms);
  j["ts_ms"] = r.ts_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

CommandRouter::CommandRouter(Publish publish) : publish_(std::move(publish)) {}

void CommandRouter::attach(const config::Config& config, Scheduler& scheduler) {
  const bridge::TopicMap topics(config);
  std::map<std::string, Target, std::less<>> targets;
  for (const auto& device : config.devices) {
    auto bare = std::make_shared<config::DeviceConfig>(device);
    bare->points.clear();
    bare->points.shrink_to_fit();
    for (const auto& point : device.points) {
      auto route = topics.command_route(device.name, point.name, point.unit);
      std::shared_ptr<const config::PointConfig> writable;
      if (point.write.writable) writable = std::make_shared<const config::PointConfig>(point);
      targets.emplace(std::move(route.command), Target{bare, std::move(writable), point.name});
    }
  }
  std::lock_guard lock(mutex_);
  targets_ = std::move(targets);
  result_suffix_ = config.mqtt.result_suffix;
  scheduler_ = &scheduler;
  qos_ = config.mqtt.command_qos;
  max_age_ = config.mqtt.command_max_age;
}

void CommandRouter::detach() {
  std::lock_guard lock(mutex_);
  scheduler_ = nullptr;
}

std::vector<std::string> CommandRouter::command_topics() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [topic, target] : targets_) {
    if (target.point) out.push_back(topic);
  }
  return out;
}

void CommandRouter::finish(const Target& target, const std::string& result_topic,
                           const bridge::IncomingCommand& command, CommandResult result, int qos) {
  result.device = target.device->name;
  result.point = target.point_name;
  result.ts_ms = unix_ms_now();
  // The audit line: what was asked, by which topic and id, and what happened.
  const std::string what = fmt::format(
      "write {}/{} = {} (topic {}, id {})", result.device, result.point,
      result.value.is_null() ? "-" : result.value.dump(), command.topic, result.id.dump());
  if (result.status == "ok") {
    spdlog::info("{}: ok, read back {}{}", what,
                 result.readback.is_null() ? "nothing" : result.readback.dump(),
                 result.error.empty() ? "" : " (" + result.error + ")");
  } else {
    spdlog::warn("{}: {}: {}", what, result.status, result.error);
  }
  publish_(result_topic, to_json(result), qos);
}

void CommandRouter::handle(const bridge::IncomingCommand& command) {
  try {
    std::unique_lock lock(mutex_);
    const auto it = targets_.find(command.topic);
    if (it == targets_.end()) {
      spdlog::debug("mqtt: message on {} is no command of this configuration", command.topic);
      return;
    }
    const Target target = it->second;  // a copy: the callback outlives a reload
    // The rule of bridge::TopicMap::command_route.
    const std::string result_topic = fmt::format("{}/{}", command.topic, result_suffix_);
    const int qos = qos_;
    const auto max_age = max_age_;
    Scheduler* scheduler = scheduler_;

    ParsedCommand parsed = parse_command_payload(command.payload);
    CommandResult result;
    result.id = parsed.id;
    if (parsed.value) result.value = value_json(*parsed.value);
    const auto refuse = [&](std::string status, std::string error) {
      result.status = std::move(status);
      result.error = std::move(error);
      lock.unlock();
      finish(target, result_topic, command, std::move(result), qos);
    };
    if (command.retained) {
      return refuse("rejected",
                    "retained command refused: it would be executed again at every "
                    "reconnect; publish commands without the retain flag");
    }
    if (!parsed.error.empty()) return refuse("rejected", parsed.error);

    // The deadline: max age from the command's "ts", else from its arrival;
    // an MQTT 5 expiry interval, when shorter, wins.
    auto deadline = command.arrived + max_age;
    if (parsed.ts_ms) {
      const milliseconds age{std::max<std::int64_t>(0, unix_ms_now() - *parsed.ts_ms)};
      if (age > max_age) {
        return refuse("expired", fmt::format("the command is {} ms old (ts), more than "
                                             "command_max_age ({} ms)",
                                             age.count(), max_age.count()));
      }
      deadline = command.arrived + (max_age - age);
    }
    if (command.expiry) deadline = std::min(deadline, command.arrived + *command.expiry);

    Value value = *parsed.value;
    static const config::PointConfig kReadOnly;  // check_write refuses it: "not writable"
    if (auto why = check_write(*target.device, target.point ? *target.point : kReadOnly, value);
        !why.empty()) {
      return refuse("rejected", std::move(why));
    }
    result.value = value_json(value);
    if (scheduler == nullptr) {
      return refuse("error", "the gateway is reloading or stopping; send the command again");
    }
    WriteCommand write;
    write.device = target.device->name;
    write.point = target.point_name;
    write.value = value;
    write.deadline = deadline;
    write.done = [this, target, result_topic, command, result, qos](
                     CommandOutcome outcome, const drivers::WriteResult& written) {
      CommandResult r = result;
      switch (outcome) {
        case CommandOutcome::kExpired:
          r.status = "expired";
          r.error = "waited for the bus past its deadline (command_max_age); not executed";
          break;
        case CommandOutcome::kCancelled:
          r.status = "error";
          r.error = "the gateway stopped or reloaded before the write; not executed";
          break;
        case CommandOutcome::kExecuted:
          r.status = status_of(written.status);
          r.error = written.error;
          r.readback = value_json(written.readback);
          break;
      }
      finish(target, result_topic, command, std::move(r), qos);
    };
    if (!scheduler->submit(std::move(write))) {
      return refuse("error", "no worker runs this device now (stopping or reloading)");
    }
  } catch (const std::exception& e) {
    spdlog::error("mqtt: command on {} not handled: {}", command.topic, e.what());
  }
}

std::unique_ptr<CommandRouter> make_command_router(bridge::Forwarder& forwarder) {
  auto router = std::make_unique<CommandRouter>(
      [&forwarder](std::string topic, std::string payload, int qos) {
        forwarder.publish_result(std::move(topic), std::move(payload), qos);
      });
  forwarder.set_command_handler(
      [r = router.get()](bridge::IncomingCommand command) { r->handle(command); });
  return router;
}

void attach_commands(CommandRouter& router, bridge::Forwarder& forwarder,
                     const config::Config& config, Scheduler& scheduler) {
  router.attach(config, scheduler);
  forwarder.set_command_topics(router.command_topics(), config.mqtt.command_qos);
}

}  // namespace fieldgate::gateway
