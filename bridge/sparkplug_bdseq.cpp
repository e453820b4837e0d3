#include "bridge/sparkplug_bdseq.hpp"

#include <spdlog/spdlog.h>

#include "bridge/sqlite_handles.hpp"

namespace fieldgate::bridge::sparkplug {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// Reads the last number, stores the next, in one transaction; returns it.
std::int64_t advance_in_file(const std::string& path) {
  sqlite::Db db = sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  sqlite::exec(db.get(), "BEGIN IMMEDIATE");
  std::int64_t next = 0;
  {
    auto stmt =
        sqlite::prepare(db.get(), "SELECT value FROM meta WHERE key = 'sparkplug.bd_seq'", false);
    if (sqlite3_step(stmt.get()) == SQLITE_ROW) {
      next = (sqlite3_column_int64(stmt.get(), 0) + 1) % 256;
      if (next < 0) next = 0;
    }
  }
  {
    auto stmt = sqlite::prepare(
        db.get(), "INSERT OR REPLACE INTO meta (key, value) VALUES ('sparkplug.bd_seq', ?1)",
        false);
    sqlite3_bind_int64(stmt.get(), 1, next);
    sqlite::check(db.get(), sqlite3_step(stmt.get()), "store bdSeq", SQLITE_DONE);
  }
  sqlite::exec(db.get(), "COMMIT");
  return next;
}

}  // namespace

std::uint64_t BdSeqCounter::next() {
  if (!path_.empty()) {
    try {
      last_ = advance_in_file(path_);
      return static_cast<std::uint64_t>(last_);
    } catch (const std::exception& e) {
      if (!warned_) {
        spdlog::warn("sparkplug: cannot keep bdSeq in {}: {}; counting in memory", path_, e.what());
        warned_ = true;
      }
    }
  }
  last_ = (last_ + 1) % 256;
  return static_cast<std::uint64_t>(last_);
}

}  // namespace fieldgate::bridge::sparkplug
