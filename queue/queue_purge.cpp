// `fieldgate queue purge`: a dry run that counts, or the delete (--yes).
#include <ostream>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "queue/queue_actions.hpp"

namespace fieldgate::queue {

int run_purge(const QueueOptions& o, std::ostream& out, std::ostream& err) {
  const auto filter = filter_of(o, unix_ms_now());
  if (filter.matches_everything() && !o.all) {
    throw QueueError("purge needs at least one of --device, --point, --before or --all");
  }
  const char* what = o.dead ? "dead letters" : "readings";
  if (!o.yes) {
    // A dry run that counted is a success: exit 0 (docs/QUEUE.md).
    QueueDb db(o.db, QueueDb::Mode::kRead);
    const auto n = db.count(filter);
    if (o.json) {
      out << nlohmann::json{{"path", o.db}, {"would_delete", n}, {"dead", o.dead}}.dump() << '\n';
    }
    fmt::print(err, "purge would delete {} {} from {}; add --yes to delete them\n", n, what, o.db);
    return kExitQueueOk;
  }
  QueueDb db(o.db, QueueDb::Mode::kPurge);
  const auto deleted = db.purge(filter, o.all);
  const auto total = db.summary().meta.purged;
  if (o.json) {
    out << nlohmann::json{{"path", o.db},
                          {"deleted", deleted},
                          {"dead", o.dead},
                          {"purged_total", total}}
               .dump()
        << '\n';
  } else {
    fmt::print(out, "deleted {} {} from {} ({} purged in total)\n", deleted, what, o.db, total);
  }
  return kExitQueueOk;
}

}  // namespace fieldgate::queue
