// `fieldgate queue stats`: depth, bytes, age, seqs, totals, per device/point.
#include <algorithm>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/reading_text.hpp"
#include "queue/queue_actions.hpp"

namespace fieldgate::queue {
namespace {

std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024ULL * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  if (n < 1024ULL * 1024 * 1024) {
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024.0 * 1024));
  }
  return fmt::format("{:.2f} GiB", static_cast<double>(n) / (1024.0 * 1024 * 1024));
}

/// "3d 4h", "12m 5s", "800ms": the two largest units, for people.
std::string human_age(std::int64_t ms) {
  if (ms < 0) return "in the future";
  if (ms < 1000) return fmt::format("{}ms", ms);
  const std::int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

// Device names come from the file: made valid UTF-8 for JSON (json_line
// replaces what is not).
nlohmann::json suppressed_json(const std::map<std::string, std::uint64_t, std::less<>>& counts) {
  auto j = nlohmann::json::object();
  for (const auto& [device, count] : counts) j[device] = count;
  return j;
}

}  // namespace

int run_stats(const QueueOptions& o, std::ostream& out, std::ostream& err) {
  QueueDb db(o.db, QueueDb::Mode::kRead);
  const auto s = db.summary();
  for (const auto& note : db.notes()) fmt::print(err, "note: {}\n", note);
  if (o.json) {
    auto groups = [](const std::vector<GroupCount>& list, bool points) {
      auto arr = nlohmann::json::array();
      for (const auto& g : list) {
        nlohmann::json j{{"device", g.device},
                         {"rows", g.rows},
                         {"bytes", g.bytes},
                         {"oldest_ts_ms", g.oldest_ts_ms},
                         {"newest_ts_ms", g.newest_ts_ms}};
        if (points) j["point"] = g.point;
        arr.push_back(std::move(j));
      }
      return arr;
    };
    nlohmann::json j{
        {"path", s.path},
        {"schema_version", s.schema_version},
        {"created_ms", s.meta.created_ms},
        {"gateway_running", s.writer_active},
        {"rows", s.rows},
        {"bytes", s.bytes},
        {"file_bytes", s.file_bytes},
        {"oldest_ts_ms", s.oldest_ts_ms},
        {"newest_ts_ms", s.newest_ts_ms},
        {"first_seq", s.first_seq},
        {"last_seq", s.last_seq},
        {"next_seq", s.next_seq},
        {"reserved_upto", s.reserved_upto},
        {"dropped",
         {{"oldest", s.meta.dropped_oldest},
          {"newest", s.meta.dropped_newest},
          {"expired", s.meta.dropped_expired}}},
        {"purged", s.meta.purged},
        {"dead_letters", s.dead_letters},
        {"dead_bytes", s.dead_bytes},
        {"dead_lettered", s.meta.dead_lettered},
        {"dead_dropped", s.meta.dead_dropped},
        {"refused_oversize", s.meta.refused_oversize},
        {"suppressed", suppressed_json(s.meta.suppressed)},
        {"seq_problem", s.seq_problem},
        {"devices", groups(s.devices, false)},
        {"points", groups(s.points, true)},
        {"notes", db.notes()},
    };
    if (s.rows > 0) {
      j["oldest_ts"] = iso8601(s.oldest_ts_ms);
      j["newest_ts"] = iso8601(s.newest_ts_ms);
    }
    out << json_line(j) << '\n';
    return kExitQueueOk;
  }
  const auto now = unix_ms_now();
  fmt::print(out, "buffer     {} (schema {}, created {})\n", s.path, s.schema_version,
             s.meta.created_ms > 0 ? iso8601(s.meta.created_ms) : "?");
  fmt::print(out, "gateway    {}\n",
             s.writer_active ? "running (has the buffer open)" : "not running");
  fmt::print(out, "readings   {} ({} accounted; {} on disk with the WAL)\n", s.rows,
             human_bytes(s.bytes), human_bytes(s.file_bytes));
  if (s.rows > 0) {
    fmt::print(out, "oldest     {} ({} ago)\n", iso8601(s.oldest_ts_ms),
               human_age(now - s.oldest_ts_ms));
    fmt::print(out, "newest     {} ({} ago)\n", iso8601(s.newest_ts_ms),
               human_age(now - s.newest_ts_ms));
    fmt::print(out, "seq        {}..{} buffered, next {}\n", s.first_seq, s.last_seq, s.next_seq);
  } else {
    fmt::print(out, "seq        next {}\n", s.next_seq);
  }
  if (s.reserved_upto != 0) {
    fmt::print(out, "           up to {} reserved{}\n", s.reserved_upto,
               s.writer_active ? " by the running gateway"
                               : " by a gateway that did not stop cleanly (never used again)");
  }
  fmt::print(out, "dropped    {} oldest evicted, {} newest refused, {} expired; {} purged\n",
             s.meta.dropped_oldest, s.meta.dropped_newest, s.meta.dropped_expired, s.meta.purged);
  fmt::print(out, "refused    {} readings larger than [mqtt] max_payload, at acquisition\n",
             s.meta.refused_oversize);
  std::uint64_t suppressed = 0;
  std::string by_device;
  for (const auto& [device, count] : s.meta.suppressed) {
    suppressed += count;
    by_device += fmt::format("{}{}: {}", by_device.empty() ? "" : ", ", printable(device), count);
  }
  fmt::print(out, "suppressed {} readings held back before the buffer by policy{}\n", suppressed,
             by_device.empty() ? "" : " (" + by_device + ")");
  fmt::print(out,
             "dead       {} dead letters ({}) that could not be sent{}; {} since created, {} "
             "deleted over the table's bound\n",
             s.dead_letters, human_bytes(s.dead_bytes),
             s.dead_letters > 0 ? " (queue ls --dead)" : "", s.meta.dead_lettered,
             s.meta.dead_dropped);
  if (!s.seq_problem.empty()) {
    fmt::print(out,
               "PROBLEM    {}: a gateway refuses to start on this buffer (docs/QUEUE.md, "
               "\"Damaged seq bookkeeping\")\n",
               printable(s.seq_problem));
  }
  if (s.rows == 0) return kExitQueueOk;
  std::size_t dw = 6, pw = 5;
  for (const auto& g : s.points) {
    dw = std::max(dw, g.device.size());
    pw = std::max(pw, g.point.size());
  }
  fmt::print(out, "\nby device\n");
  for (const auto& g : s.devices) {
    fmt::print(out, "  {:<{}}  {:>10}  {:>10}\n", printable(g.device), dw + pw + 2, g.rows,
               human_bytes(g.bytes));
  }
  fmt::print(out, "by point\n");
  for (const auto& g : s.points) {
    fmt::print(out, "  {:<{}}  {:<{}}  {:>10}  {:>10}\n", printable(g.device), dw,
               printable(g.point), pw, g.rows, human_bytes(g.bytes));
  }
  // Topics are not stored: the forwarder maps device/point to a topic with
  // the configuration in force when it publishes.
  fmt::print(out,
             "(grouped by device and point: topics are computed by the forwarder from the "
             "configuration when it publishes)\n");
  return kExitQueueOk;
}

}  // namespace fieldgate::queue
