// GroupCommit: one group commit as one transaction (store_commit.hpp). Its
// bounds are in store_bounds.cpp, its dead letters in store_dead_letters.cpp.
#include "bridge/store_commit.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

#include <fmt/format.h>

#include "bridge/store_commit_steps.hpp"
#include "bridge/store_schema.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {
namespace {

// The database pages are bounded to no less than this: an empty buffer's
// schema takes a few pages, and max_bytes (at least 1 MiB in a configuration)
// is below it only in tests of the accounted bound.
constexpr std::uint64_t kMinDiskBudget = 256ULL * 1024;

}  // namespace

GroupCommit::GroupCommit(sqlite3* db, const config::StoreConfig& config, const schema::Meta& meta,
                         DropCounts totals, ClaimFence claims)
    : db_(db),
      max_rows_(effective_limit(config.max_rows)),
      max_bytes_(effective_limit(config.max_bytes)),
      db_budget_(std::max(kMinDiskBudget,
                          max_bytes_ - std::min(max_bytes_ / 2, wal_allowance(max_bytes_)))),
      max_age_ms_(std::max<std::int64_t>(0, config.max_age.count())),
      drop_newest_(config.overflow == config::Overflow::kDropNewest),
      claims_(claims),
      page_size_(static_cast<std::uint64_t>(sqlite::query_int(db, "PRAGMA page_size"))),
      begin_(sqlite::prepare(db, "BEGIN IMMEDIATE")),
      commit_(sqlite::prepare(db, "COMMIT")),
      rollback_(sqlite::prepare(db, "ROLLBACK")),
      insert_(
          sqlite::prepare(db,
                          "INSERT INTO readings(seq, device, point, ts_ms, quality, value_kind, "
                          "value, unit, error, size) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")),
      delete_range_(
          sqlite::prepare(db, "DELETE FROM readings WHERE seq BETWEEN ?1 AND ?2 RETURNING size")),
      any_expired_(sqlite::prepare(db, "SELECT 1 FROM readings WHERE ts_ms < ?1 LIMIT 1")),
      expire_(
          sqlite::prepare(db, "DELETE FROM readings WHERE ts_ms < ?1 AND seq > ?2 RETURNING size")),
      oldest_(sqlite::prepare(db, "SELECT seq, size FROM readings WHERE seq > ?1 ORDER BY seq")),
      delete_upto_(sqlite::prepare(db, "DELETE FROM readings WHERE seq > ?1 AND seq <= ?2")),
      set_meta_(sqlite::prepare(db,
                                "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value")),
      page_count_(sqlite::prepare(db, "PRAGMA page_count")),
      freelist_count_(sqlite::prepare(db, "PRAGMA freelist_count")),
      move_dead_(sqlite::prepare(
          db, fmt::format("INSERT OR REPLACE INTO dead_letters({0}, reason, dead_ms) "
                          "SELECT {0}, ?2, ?3 FROM readings WHERE seq = ?1",
                          schema::kReadingColumns))),
      delete_one_(sqlite::prepare(db, "DELETE FROM readings WHERE seq = ?1 RETURNING size")),
      insert_dead_(sqlite::prepare(
          db, fmt::format("INSERT OR REPLACE INTO dead_letters({}, reason, dead_ms) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                          schema::kReadingColumns))),
      // typeof() reads no content: the text columns are read in part below.
      row_head_(
          sqlite::prepare(db,
                          "SELECT ts_ms, quality, value_kind, typeof(value) IN ('text', 'blob'), "
                          "CASE WHEN typeof(value) IN ('text', 'blob') THEN NULL ELSE value END "
                          "FROM readings WHERE seq = ?1")),
      oldest_dead_(sqlite::prepare(db, "SELECT seq, size FROM dead_letters ORDER BY seq")),
      delete_dead_upto_(sqlite::prepare(db, "DELETE FROM dead_letters WHERE seq <= ?1")),
      delete_newest_(sqlite::prepare(db, "DELETE FROM readings WHERE seq >= ?1 RETURNING size")),
      persisted_next_seq_(meta.next_seq),
      sync_raises_(config.durability == config::Durability::kNormal),
      persisted_(totals),
      persisted_dead_lettered_(meta.dead_lettered),
      persisted_dead_dropped_(meta.dead_dropped),
      persisted_refused_(meta.refused_oversize),
      persisted_suppressed_(meta.suppressed) {}

CommitResult GroupCommit::run(const CommitWork& work, const TableFigures& before) {
  CommitResult out;
  // Declared before the try: released only after COMMIT or ROLLBACK.
  FenceLock fence(*claims_.mu, std::defer_lock);
  // A new seq reservation must survive a power cut even with durability
  // normal, or a consumer could see one seq on two readings: this one
  // transaction is synced (about once per kSeqReserveBlock readings).
  const bool sync = sync_raises_ && work.next_seq > persisted_next_seq_;
  try {
    if (sync) set_synchronous(true);
    body(work, before, fence, out);
    out.ok = true;
  } catch (const sqlite::Error& e) {
    out = CommitResult{};
    out.code = e.code();
    out.error = e.what();
    // Some errors (SQLITE_FULL in COMMIT among them) roll back by themselves.
    if (sqlite3_get_autocommit(db_) == 0) {
      sqlite3_step(rollback_.get());
      sqlite3_reset(rollback_.get());
    }
  }
  if (sync) set_synchronous(false);
  return out;
}

void GroupCommit::body(const CommitWork& work, const TableFigures& before, FenceLock& fence,
                       CommitResult& out) {
  step_done(db_, begin_.get(), "begin");
  std::uint64_t rows = before.rows;
  std::uint64_t bytes = before.bytes;
  out.dead_rows = before.dead_rows;
  out.dead_bytes = before.dead_bytes;
  std::uint64_t freed = 0;

  // 1. Delivered readings, then those that cannot be delivered.
  delete_acked(work.acks, out, freed);
  rows -= std::min(rows, out.acked);
  bytes -= std::min(bytes, freed);
  move_dead(work.dead, rows, bytes, out);

  // 2. Expired readings (max_age, by source time; the ts_ms index finds them).
  const std::int64_t cutoff = unix_ms_now() - max_age_ms_;
  if (max_age_ms_ > 0) {
    freed = 0;
    expire(cutoff, fence, out, freed);
    rows -= std::min(rows, out.dropped.expired);
    bytes -= std::min(bytes, freed);
  }

  // drop_newest decides before writing: the database's share of max_bytes in
  // accounted bytes, by the last measured ratio (dead letters take their part).
  const auto accounted_budget =
      static_cast<std::uint64_t>(static_cast<double>(db_budget_) * accounted_per_disk_byte_);
  const std::uint64_t max_bytes =
      std::min(max_bytes_, accounted_budget - std::min(accounted_budget / 2, out.dead_bytes));

  // 3a. drop_oldest: room for the group before it is written, by the
  // measured pages and ratio, so that its rows go into pages freed now
  // rather than new pages at the end of the file (which would stay).
  if (!drop_newest_ && !work.readings.empty()) {
    std::uint64_t incoming = 0;
    for (const auto& r : work.readings) incoming += schema::accounted_size(r);
    const auto in_use = disk_bytes();
    const auto projected =
        in_use + static_cast<std::uint64_t>(static_cast<double>(incoming) /
                                            std::max(accounted_per_disk_byte_, 0.05));
    if (projected > db_budget_ && bytes > 0) {
      const auto excess = static_cast<std::uint64_t>(static_cast<double>(projected - db_budget_) *
                                                     accounted_per_disk_byte_);
      evict_oldest(rows, bytes, bytes - std::min(bytes, excess), fence, out);
    }
  }

  // 3. New readings, in seq order. drop_newest refuses from the first one that
  // does not fit on, so what it accepts of a group is always a prefix.
  bool refusing = false;
  sqlite::ResetOnExit reset_insert(insert_.get());
  for (const auto& r : work.readings) {
    if (max_age_ms_ > 0 && r.source_ts_ms < cutoff) {
      ++out.dropped.expired;
      continue;
    }
    const auto size = schema::accounted_size(r);
    if (drop_newest_ && (refusing || rows + 1 > max_rows_ || bytes + size > max_bytes)) {
      refusing = true;
      ++out.dropped.newest;
      continue;
    }
    insert(r, size);
    ++rows;
    bytes += size;
    ++out.inserted;
  }

  // 4. drop_oldest: evict from the head until max_rows and the accounted
  // max_bytes hold again, then until the pages on disk do (measured, not
  // estimated: an estimate that is low would evict readings that fit).
  if (!drop_newest_ && (rows > max_rows_ || bytes > max_bytes_)) {
    evict_oldest(rows, bytes, max_bytes_, fence, out);
  }
  keep_on_disk_bound(work, rows, bytes, fence, out);
  bound_dead(out);

  // 5. Counters, only those that changed (an idle tick writes nothing).
  auto totals = work.totals;
  totals += out.dropped;
  const auto dead_lettered = persisted_dead_lettered_ + out.dead_moved;
  const auto dead_dropped = persisted_dead_dropped_ + out.dead_dropped;
  if (work.next_seq != persisted_next_seq_) set_meta(schema::kMetaNextSeq, work.next_seq);
  if (work.next_seq_used != persisted_used_) set_meta(schema::kMetaNextSeqUsed, work.next_seq_used);
  if (totals.oldest != persisted_.oldest) set_meta(schema::kMetaDroppedOldest, totals.oldest);
  if (totals.newest != persisted_.newest) set_meta(schema::kMetaDroppedNewest, totals.newest);
  if (totals.expired != persisted_.expired) set_meta(schema::kMetaDroppedExpired, totals.expired);
  if (dead_lettered != persisted_dead_lettered_) {
    set_meta(schema::kMetaDeadLettered, dead_lettered);
  }
  if (dead_dropped != persisted_dead_dropped_) set_meta(schema::kMetaDeadDropped, dead_dropped);
  if (work.refused_oversize != persisted_refused_) {
    set_meta(schema::kMetaRefusedOversize, work.refused_oversize);
  }
  set_suppressed(work);
  set_notes(work);

  step_done(db_, commit_.get(), "commit");
  out.rows = rows;
  out.bytes = bytes;
  out.changed =
      out.inserted + out.acked + out.dropped.sum() + out.dead_moved + out.dead_dropped > 0 ||
      work.next_seq != persisted_next_seq_ || work.next_seq_used != persisted_used_ ||
      !(totals == persisted_) || work.refused_oversize != persisted_refused_ ||
      (!work.suppressed.empty() && work.suppressed != persisted_suppressed_) || !work.notes.empty();
  persisted_next_seq_ = work.next_seq;
  persisted_used_ = work.next_seq_used;
  persisted_ = totals;
  persisted_dead_lettered_ = dead_lettered;
  persisted_dead_dropped_ = dead_dropped;
  persisted_refused_ = work.refused_oversize;
  if (!work.suppressed.empty()) persisted_suppressed_ = work.suppressed;
}

// Acks come mostly in runs of consecutive seqs: one range delete per run (a
// seq missing inside a run had been deleted already, so the range is exact).
void GroupCommit::delete_acked(const std::vector<std::uint64_t>& unsorted, CommitResult& out,
                               std::uint64_t& freed) {
  if (unsorted.empty()) return;
  auto acks = unsorted;
  std::sort(acks.begin(), acks.end());
  acks.erase(std::unique(acks.begin(), acks.end()), acks.end());
  for (std::size_t i = 0; i < acks.size();) {
    std::size_t j = i;
    while (j + 1 < acks.size() && acks[j + 1] == acks[j] + 1) ++j;
    sqlite3_bind_int64(delete_range_.get(), 1, to_db(acks[i]));
    sqlite3_bind_int64(delete_range_.get(), 2, to_db(acks[j]));
    step_deleted(db_, delete_range_.get(), "delete acked", out.acked, freed);
    i = j + 1;
  }
}

// One prepared statement, bound per row; strings are bound without copies.
void GroupCommit::insert(const Reading& r, std::uint64_t size) {
  sqlite3_stmt* ins = insert_.get();
  bind_reading(ins, r, size);
  sqlite::check(db_, sqlite3_step(ins), "insert", SQLITE_DONE);
  sqlite3_reset(ins);
}

// The devices' suppressed totals that changed since the last commit; none
// when the work carries none (SqliteStore hands them only to a commit that
// writes anyway, to flush() and to the last commit).
void GroupCommit::set_suppressed(const CommitWork& work) {
  std::string key;
  for (const auto& [device, total] : work.suppressed) {
    const auto it = persisted_suppressed_.find(device);
    if (it != persisted_suppressed_.end() && it->second == total) continue;
    key.assign(schema::kMetaSuppressedPrefix);
    key += device;
    set_meta(key.c_str(), total);
  }
}

// The notes set since the last commit, as TEXT values of the meta table.
void GroupCommit::set_notes(const CommitWork& work) {
  std::string key;
  for (const auto& [name, text] : work.notes) {
    key.assign(schema::kMetaNotePrefix);
    key += name;
    sqlite3_stmt* stmt = set_meta_.get();
    sqlite::ResetOnExit reset(stmt);
    sqlite3_bind_text(stmt, 1, key.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    sqlite::check(db_, sqlite3_step(stmt), "update meta", SQLITE_DONE);
  }
}

void GroupCommit::set_synchronous(bool full) noexcept {
  // Outside a transaction only. Should it fail, the commit is merely not synced.
  sqlite3_exec(db_, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", nullptr,
               nullptr, nullptr);
}

void GroupCommit::set_meta(const char* key, std::uint64_t value) {
  sqlite3_stmt* stmt = set_meta_.get();
  sqlite::ResetOnExit reset(stmt);
  sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 2, to_db(value));
  sqlite::check(db_, sqlite3_step(stmt), "update meta", SQLITE_DONE);
}

}  // namespace fieldgate::bridge
