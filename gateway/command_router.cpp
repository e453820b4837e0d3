#include "gateway/command_router.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <tuple>

#include "bridge/topics.hpp"
#include "config/route.hpp"
#include "core/clock.hpp"
#include "gateway/command_check.hpp"
#include "gateway/logging.hpp"

namespace fieldgate::gateway {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A refused command's line shows this much of the last one not logged.
constexpr std::size_t kSummaryLineBytes = 512;

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
  j["ts"] = iso8601(r.ts_ms);
  j["ts_ms"] = r.ts_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

CommandRouter::CommandRouter(Publish publish)
    : CommandRouter(std::move(publish), RefusalLogLimit{}) {}

CommandRouter::CommandRouter(Publish publish, RefusalLogLimit limit)
    : publish_(std::move(publish)), limit_(limit) {
  refusals_.window_start = Clock::now();
}

CommandRouter::~CommandRouter() {
  std::lock_guard lock(log_mutex_);
  write_summary(Clock::now());
}

void CommandRouter::attach(const config::Config& config, Scheduler& scheduler) {
  attach(std::make_shared<const config::Config>(config), scheduler);
}

void CommandRouter::attach(std::shared_ptr<const config::Config> config, Scheduler& scheduler) {
  auto topics = std::make_unique<const bridge::TopicMap>(config);
  std::vector<TopicHash> by_topic;
  by_topic.reserve(topics->size());
  for (std::size_t i = 0; i < topics->size(); ++i) {
    const auto p = topics->at(i);
    const auto route = topics->command_route(p.device->name, p.point->name, p.point->unit);
    by_topic.push_back(TopicHash{hash_topic(route.command), static_cast<std::uint32_t>(i)});
  }
  std::sort(by_topic.begin(), by_topic.end(), [](const TopicHash& a, const TopicHash& b) {
    return std::tie(a.hash, a.point) < std::tie(b.hash, b.point);
  });
  std::lock_guard lock(mutex_);
  topics_ = std::move(topics);
  by_topic_ = std::move(by_topic);
  result_suffix_ = config->mqtt.result_suffix;
  scheduler_ = &scheduler;
  qos_ = config->mqtt.command_qos;
  max_age_ = config->mqtt.command_max_age;
  max_size_ = config->mqtt.command_max_size;
}

std::uint64_t CommandRouter::hash_topic(std::string_view topic) noexcept {
  return std::hash<std::string_view>{}(topic);
}

std::string CommandRouter::command_topic_at(std::size_t i) const {
  const auto p = topics_->at(i);
  return topics_->command_route(p.device->name, p.point->name, p.point->unit).command;
}

std::optional<std::size_t> CommandRouter::point_of_topic(std::string_view topic) const {
  if (!topics_) return std::nullopt;
  const std::uint64_t hash = hash_topic(topic);
  auto it = std::lower_bound(by_topic_.begin(), by_topic_.end(), hash,
                             [](const TopicHash& e, std::uint64_t h) { return e.hash < h; });
  // Equal hashes are confirmed against the topic itself: a crafted collision
  // finds nothing, and costs one expansion per colliding point.
  for (; it != by_topic_.end() && it->hash == hash; ++it) {
    if (command_topic_at(it->point) == topic) return it->point;
  }
  return std::nullopt;
}

CommandRouter::Target CommandRouter::target_at(std::size_t i) const {
  const auto p = topics_->at(i);
  const auto& config = topics_->config();
  Target target;
  target.device = std::shared_ptr<const config::DeviceConfig>(config, p.device);
  if (p.point->write().writable) {
    target.point = std::shared_ptr<const config::PointConfig>(config, p.point);
  }
  target.point_name = p.point->name;
  return target;
}

void CommandRouter::detach() {
  {
    std::lock_guard lock(mutex_);
    scheduler_ = nullptr;
  }
  // A reload or the end: what was held back is reported now.
  std::lock_guard lock(log_mutex_);
  write_summary(Clock::now());
}

std::vector<std::string> CommandRouter::command_topics() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  if (!topics_) return out;
  for (std::size_t i = 0; i < topics_->size(); ++i) {
    if (topics_->at(i).point->write().writable) out.push_back(command_topic_at(i));
  }
  std::sort(out.begin(), out.end());  // the order the map of every point gave
  return out;
}

void CommandRouter::flush_log(Clock::time_point now) noexcept {
  try {
    std::lock_guard lock(log_mutex_);
    if (now - refusals_.window_start >= limit_.window) write_summary(now);
  } catch (...) {
    // Logging only; the next call tries again.
  }
}

void CommandRouter::write_summary(Clock::time_point now) {
  RefusalLog& log = refusals_;
  const std::uint64_t held =
      std::accumulate(log.held.begin(), log.held.end(), std::uint64_t{0},
                      [](std::uint64_t sum, const auto& entry) { return sum + entry.second; });
  if (held > 0) {
    std::string counts;
    for (const auto& [status, n] : log.held) {
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, status);
    }
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now - log.window_start).count();
    audit_log(spdlog::level::warn,
              fmt::format("commands: {} more refused in the last {}s, not logged one by one "
                          "({}); the last: {}",
                          held, seconds, counts, log.last));
  }
  log = RefusalLog{};
  log.window_start = now;
}

void CommandRouter::log_refusal(const std::string& line, const std::string& status) {
  const auto now = Clock::now();
  std::lock_guard lock(log_mutex_);
  if (now - refusals_.window_start >= limit_.window) write_summary(now);
  if (refusals_.logged < limit_.lines) {
    ++refusals_.logged;
    audit_log(spdlog::level::warn, line);
    return;
  }
  ++refusals_.held[status];
  refusals_.last =
      line.size() <= kSummaryLineBytes ? line : line.substr(0, kSummaryLineBytes) + "…";
}

void CommandRouter::finish(const Target& target, const Origin& origin, CommandResult result,
                           bool refused) noexcept {
  const std::string& result_topic = origin.result_topic;
  std::string payload;
  try {
    result.device = target.device->name;
    result.point = target.point_name;
    result.ts_ms = unix_ms_now();
    payload = to_json(result);
  } catch (...) {
    payload = R"({"status":"error","error":"the result could not be encoded"})";
  }
  try {
    // The audit line: what was asked, by which topic and id, and what happened.
    const std::string what =
        fmt::format("write {}/{} = {} ({}, id {})", result.device, result.point,
                    result.value.is_null() ? "-" : json_for_log(result.value), origin.source,
                    json_for_log(result.id));
    if (result.status == "ok") {
      audit_log(spdlog::level::info,
                fmt::format("{}: ok, read back {}{}", what,
                            result.readback.is_null() ? "nothing" : json_for_log(result.readback),
                            result.error.empty() ? "" : " (" + result.error + ")"));
    } else if (refused) {
      log_refusal(fmt::format("{}: {}: {}", what, result.status, result.error), result.status);
    } else {
      audit_log(spdlog::level::warn, fmt::format("{}: {}: {}", what, result.status, result.error));
    }
  } catch (const std::exception& e) {
    spdlog::error("commands: cannot log the result of a command ({}): {}", origin.source, e.what());
  } catch (...) {
    // Still publish the result below.
  }
  try {
    publish_(result_topic, std::move(payload), origin.qos);
  } catch (const std::exception& e) {
    spdlog::error("commands: result on {} not published: {}", result_topic, e.what());
  } catch (...) {
    spdlog::error("commands: result on {} not published", result_topic);
  }
  if (!origin.reply) return;
  try {
    origin.reply(result);
  } catch (...) {
    spdlog::error("commands: the result of a write ({}) was not handed back", origin.source);
  }
}

void CommandRouter::handle(const bridge::IncomingCommand& command) noexcept {
  Answer answer;
  try {
    flush_log();
    route(command, answer);
  } catch (const std::exception& e) {
    spdlog::error("commands: command on {} not handled: {}", command.topic, e.what());
  } catch (...) {
    spdlog::error("commands: command on {} not handled", command.topic);
  }
  if (answer.given || answer.topic.empty()) return;
  // Whatever failed above, the sender still learns that the command was not executed.
  try {
    publish_(answer.topic, R"({"status":"error","error":"the command could not be handled"})",
             answer.qos);
  } catch (...) {
    spdlog::error("commands: result on {} not published", answer.topic);
  }
}

void CommandRouter::route(const bridge::IncomingCommand& command, Answer& answer) {
  // Held until the write is queued: detach() waits for it, so the scheduler
  // cannot go away in between.
  std::unique_lock lock(mutex_);
  const auto point = point_of_topic(command.topic);
  if (!point) {
    spdlog::debug("mqtt: message on {} is no command of this configuration", command.topic);
    return;
  }
  const Target target = target_at(*point);
  answer.topic = config::result_topic(command.topic, result_suffix_);
  answer.qos = qos_;
  Origin origin{answer.topic, "topic " + command.topic, qos_, {}};
  const auto max_age = max_age_;

  ParsedCommand parsed = parse_command_payload(command.payload, max_size_);
  CommandResult result;
  result.id = parsed.id;
  if (parsed.value) result.value = value_json(*parsed.value);
  const auto refuse = [&](std::string status, std::string error) {
    if (lock.owns_lock()) lock.unlock();
    result.status = std::move(status);
    result.error = std::move(error);
    answer.given = true;
    finish(target, origin, std::move(result), true);
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
    const CommandAge age = check_command_age(*parsed.ts_ms, unix_ms_now(), max_age);
    if (!age.status.empty()) return refuse(age.status, age.error);
    deadline = command.arrived + (max_age - age.age);
  }
  if (command.expiry) deadline = std::min(deadline, command.arrived + *command.expiry);
  check_and_queue(lock, target, std::move(origin), std::move(result), *parsed.value, deadline);
  answer.given = true;  // by check_and_queue, or by the write's `done`
}

void CommandRouter::check_and_queue(std::unique_lock<std::mutex>& lock, const Target& target,
                                    Origin origin, CommandResult result, Value value,
                                    Clock::time_point deadline) {
  const auto refuse = [&](std::string status, std::string error) {
    if (lock.owns_lock()) lock.unlock();
    result.status = std::move(status);
    result.error = std::move(error);
    finish(target, origin, std::move(result), true);
  };
  static const config::PointConfig kReadOnly;  // check_write refuses it: "not writable"
  if (auto why = check_write(*target.device, target.point ? *target.point : kReadOnly, value);
      !why.empty()) {
    return refuse("rejected", std::move(why));
  }
  result.value = value_json(value);
  Scheduler* scheduler = scheduler_;
  if (scheduler == nullptr) {
    return refuse("error", "the gateway is reloading or stopping; send the command again");
  }
  WriteCommand write;
  write.device = target.device->name;
  write.point = target.point_name;
  write.value = value;
  write.deadline = deadline;
  // Only what the result needs: not the payload.
  write.done = [this, target, origin, result](CommandOutcome outcome,
                                              const drivers::WriteResult& written) noexcept {
    try {
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
      finish(target, origin, std::move(r), false);
    } catch (...) {
      // finish() does not throw; the copies above could only fail for memory.
      spdlog::error("commands: result on {} lost: out of memory", origin.result_topic);
    }
  };
  const Submitted submitted = scheduler->submit(std::move(write));
  lock.unlock();
  switch (submitted) {
    case Submitted::kQueued:
      return;  // `done` answers
    case Submitted::kBusy:
      return refuse("busy", fmt::format("{} writes are already waiting for the bus of {}; "
                                        "not executed, send it again later",
                                        kMaxQueuedWrites, target.device->name));
    case Submitted::kNoWorker:
      break;
  }
  return refuse("error", "no worker runs this device now (stopping or reloading)");
}

void CommandRouter::submit_write(ExternalWrite write) noexcept {
  bool answered = false;
  try {
    std::unique_lock lock(mutex_);
    const auto point = topics_ ? topics_->find(write.device, write.point) : std::nullopt;
    if (!point) {
      lock.unlock();
      CommandResult r;
      r.id = write.id;
      r.device = write.device;
      r.point = write.point;
      r.status = "error";
      r.error = "no such point in the running configuration (reloaded?)";
      answered = true;
      write.reply(r);
      return;
    }
    const Target target = target_at(*point);
    Origin origin{config::result_topic(command_topic_at(*point), result_suffix_), write.source,
                  qos_, write.reply};
    CommandResult result;
    result.id = std::move(write.id);
    result.value = value_json(write.value);
    check_and_queue(lock, target, std::move(origin), std::move(result), std::move(write.value),
                    Clock::now() + max_age_);
    answered = true;
  } catch (const std::exception& e) {
    spdlog::error("commands: a write ({}) not handled: {}", write.source, e.what());
  } catch (...) {
    spdlog::error("commands: a write ({}) not handled", write.source);
  }
  if (answered || !write.reply) return;
  try {
    CommandResult r;
    r.status = "error";
    r.error = "the write could not be handled";
    write.reply(r);
  } catch (...) {
    spdlog::error("commands: the result of a write ({}) was not handed back", write.source);
  }
}

Submitted CommandRouter::submit_job(WriteCommand job) noexcept {
  try {
    // Held while queuing: detach() waits for it, so the scheduler cannot go away in between.
    std::lock_guard lock(mutex_);
    if (scheduler_ == nullptr) return Submitted::kNoWorker;
    return scheduler_->submit(std::move(job));
  } catch (...) {
    return Submitted::kNoWorker;  // a copy failed for memory: `done` was not called
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
                     std::shared_ptr<const config::Config> config, Scheduler& scheduler) {
  const int qos = config->mqtt.command_qos;
  router.attach(std::move(config), scheduler);
  forwarder.set_command_topics(router.command_topics(), qos);
}

}  // namespace fieldgate::gateway
