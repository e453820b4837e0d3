#include "queue/queue_command.hpp"

#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/clock.hpp"
#include "core/reading_text.hpp"
#include "queue/queue_actions.hpp"

namespace fieldgate::queue {

nlohmann::json reading_json(const StoredReading& s) {
  auto j = to_json(s.reading);
  j["seq"] = s.reading.seq;
  if (s.dead) {
    j["dead_reason"] = s.reason;
    j["dead_ts"] = iso8601(s.dead_ms);
    j["dead_ts_ms"] = s.dead_ms;
  }
  return j;
}

QueueFilter filter_of(const QueueOptions& o, std::int64_t now_ms) {
  QueueFilter f;
  if (!o.device.empty()) f.device = o.device;
  if (!o.point.empty()) f.point = o.point;
  std::string error;
  if (!o.since.empty()) {
    f.since_ms = parse_time_arg(o.since, now_ms, error);
    if (!f.since_ms) throw QueueError("--since: " + error);
  }
  if (!o.before.empty()) {
    f.before_ms = parse_time_arg(o.before, now_ms, error);
    if (!f.before_ms) throw QueueError("--before: " + error);
  }
  if (o.limit > 0) f.limit = static_cast<std::uint64_t>(o.limit);
  f.dead = o.dead;
  return f;
}

int run_queue(const QueueOptions& options, std::ostream& out, std::ostream& err) {
  try {
    if (options.action == "stats") return run_stats(options, out, err);
    if (options.action == "ls") return run_ls(options, out, err);
    if (options.action == "show") return run_show(options, out);
    if (options.action == "export") return run_export(options, out, err);
    if (options.action == "purge") return run_purge(options, out, err);
    throw QueueError("unknown queue command " + options.action);
  } catch (const std::exception& e) {
    fmt::print(err, "fieldgate queue {}: {}\n", options.action, e.what());
    return kExitQueueError;
  }
}

}  // namespace fieldgate::queue
