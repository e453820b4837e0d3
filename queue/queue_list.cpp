// `fieldgate queue ls` and `fieldgate queue show`: readings for people or
// as JSON lines.
#include <algorithm>
#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/clock.hpp"
#include "core/reading_text.hpp"
#include "queue/queue_actions.hpp"

namespace fieldgate::queue {
namespace {

constexpr long long kDefaultLsLimit = 50;

}  // namespace

int run_ls(const QueueOptions& o, std::ostream& out, std::ostream& err) {
  QueueDb db(o.db, QueueDb::Mode::kRead);
  for (const auto& note : db.notes()) fmt::print(err, "note: {}\n", note);
  auto filter = filter_of(o, unix_ms_now());
  if (o.limit < 0) filter.limit = kDefaultLsLimit;
  std::vector<StoredReading> rows;
  db.for_each(filter, [&](const StoredReading& s) {
    if (o.json) {
      out << json_line(reading_json(s)) << '\n';
    } else {
      rows.push_back(s);
    }
    return true;
  });
  if (!o.json) {
    std::size_t dw = 1, pw = 1;
    for (const auto& s : rows) {
      dw = std::max(dw, s.reading.device.size());
      pw = std::max(pw, s.reading.point.size());
    }
    for (const auto& s : rows) {
      fmt::print(out, "{:>10}  {}", s.reading.seq, format_reading(s.reading, dw, pw));
      if (s.dead) {
        fmt::print(out, "  DEAD {}: {}", iso8601(s.dead_ms), printable(s.reason));
      }
      fmt::print(out, "\n");
    }
  }
  if (!o.dead && db.has_dead()) {
    QueueFilter dead = filter;
    dead.dead = true;
    dead.limit.reset();
    if (const auto n = db.count(dead); n > 0) {
      fmt::print(err,
                 "{} dead letters match as well: readings that could not be sent (queue ls "
                 "--dead)\n",
                 n);
    }
  }
  if (filter.limit) {
    auto all = filter;
    all.limit.reset();
    const auto total = db.count(all);
    if (total > *filter.limit) {
      fmt::print(err, "{} of {} matching {} shown (--limit N, --limit 0 for all, or export)\n",
                 *filter.limit, total, o.dead ? "dead letters" : "readings");
    }
  }
  return kExitQueueOk;
}

int run_show(const QueueOptions& o, std::ostream& out) {
  QueueDb db(o.db, QueueDb::Mode::kRead);
  const auto found = db.find(o.seq);
  if (!found) {
    throw QueueError(fmt::format(
        "no reading with seq {} in {} (delivered, dropped, purged, or not assigned yet)", o.seq,
        o.db));
  }
  const auto& r = found->reading;
  if (o.json) {
    auto j = reading_json(*found);
    j["error"] = r.error;
    j["value_kind"] = std::string(bridge::schema::to_string(found->kind));
    j["storage_class"] = found->storage_class;
    j["size"] = found->size;
    out << json_line(j) << '\n';
    return kExitQueueOk;
  }
  fmt::print(out, "seq      {}\n", r.seq);
  fmt::print(out, "device   {}\n", printable(r.device));
  fmt::print(out, "point    {}\n", printable(r.point));
  fmt::print(out, "time     {} (ts_ms {})\n", iso8601(r.source_ts_ms), r.source_ts_ms);
  fmt::print(out, "value    {} ({}, stored as {})\n", printable(format_value(r.value)),
             bridge::schema::to_string(found->kind), found->storage_class);
  fmt::print(out, "unit     {}\n", r.unit.empty() ? "-" : printable(r.unit));
  fmt::print(out, "quality  {}\n", to_string(r.quality));
  fmt::print(out, "error    {}\n", r.error.empty() ? "-" : printable(r.error));
  fmt::print(out, "size     {} bytes (accounted)\n", found->size);
  if (found->dead) {
    fmt::print(out, "DEAD     since {}: {}\n", iso8601(found->dead_ms), printable(found->reason));
  }
  return kExitQueueOk;
}

}  // namespace fieldgate::queue
