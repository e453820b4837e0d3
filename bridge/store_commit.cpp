#include "bridge/store_commit.hpp"

#include <algorithm>
#include <chrono>

#include "bridge/store_schema.hpp"

namespace fieldgate::bridge {
namespace {

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t to_db(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX));
}

void step_done(sqlite3* db, sqlite3_stmt* stmt, const char* what) {
  sqlite::ResetOnExit reset(stmt);
  sqlite::check(db, sqlite3_step(stmt), what, SQLITE_DONE);
}

/// Steps a DELETE … RETURNING size, adding to `count` and `bytes`.
void step_deleted(sqlite3* db, sqlite3_stmt* stmt, const char* what, std::uint64_t& count,
                  std::uint64_t& bytes) {
  sqlite::ResetOnExit reset(stmt);
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ++count;
    bytes += static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
  }
  sqlite::check(db, rc, what, SQLITE_DONE);
}

}  // namespace

GroupCommit::GroupCommit(sqlite3* db, const config::StoreConfig& config, std::uint64_t next_seq,
                         DropCounts totals, ClaimFence claims)
    : db_(db),
      max_rows_(effective_limit(config.max_rows)),
      max_bytes_(effective_limit(config.max_bytes)),
      max_age_ms_(std::max<std::int64_t>(0, config.max_age.count())),
      drop_newest_(config.overflow == config::Overflow::kDropNewest),
      claims_(claims),
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
      persisted_next_seq_(next_seq),
      sync_raises_(config.durability == config::Durability::kNormal),
      persisted_(totals) {}

CommitResult GroupCommit::run(const CommitWork& work, std::uint64_t rows, std::uint64_t bytes) {
  CommitResult out;
  // Declared before the try: released only after COMMIT or ROLLBACK.
  FenceLock fence(*claims_.mu, std::defer_lock);
  // A new seq reservation must survive a power cut even with durability
  // normal, or a consumer could see one seq on two readings: this one
  // transaction is synced (about once per kSeqReserveBlock readings).
  const bool sync = sync_raises_ && work.next_seq > persisted_next_seq_;
  try {
    if (sync) set_synchronous(true);
    body(work, rows, bytes, fence, out);
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

void GroupCommit::body(const CommitWork& work, std::uint64_t rows, std::uint64_t bytes,
                       FenceLock& fence, CommitResult& out) {
  step_done(db_, begin_.get(), "begin");
  std::uint64_t freed = 0;

  // 1. Delivered readings.
  delete_acked(work.acks, out, freed);

  // 2. Expired readings (max_age, by source time; the ts_ms index finds them).
  const std::int64_t cutoff = unix_now_ms() - max_age_ms_;
  if (max_age_ms_ > 0) expire(cutoff, fence, out, freed);
  rows -= std::min(rows, out.acked + out.dropped.expired);
  bytes -= std::min(bytes, freed);

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
    if (drop_newest_ && (refusing || rows + 1 > max_rows_ || bytes + size > max_bytes_)) {
      refusing = true;
      ++out.dropped.newest;
      continue;
    }
    insert(r, size);
    ++rows;
    bytes += size;
    ++out.inserted;
  }

  // 4. drop_oldest: evict from the head until both bounds hold again.
  if (!drop_newest_ && (rows > max_rows_ || bytes > max_bytes_)) {
    evict_oldest(rows, bytes, fence, out);
  }

  // 5. Counters, only those that changed (an idle tick writes nothing).
  auto totals = work.totals;
  totals += out.dropped;
  if (work.next_seq != persisted_next_seq_) set_meta(schema::kMetaNextSeq, work.next_seq);
  if (work.next_seq_used != persisted_used_) set_meta(schema::kMetaNextSeqUsed, work.next_seq_used);
  if (totals.oldest != persisted_.oldest) set_meta(schema::kMetaDroppedOldest, totals.oldest);
  if (totals.newest != persisted_.newest) set_meta(schema::kMetaDroppedNewest, totals.newest);
  if (totals.expired != persisted_.expired) set_meta(schema::kMetaDroppedExpired, totals.expired);

  step_done(db_, commit_.get(), "commit");
  out.rows = rows;
  out.bytes = bytes;
  out.changed = out.inserted + out.acked + out.dropped.sum() > 0 ||
                work.next_seq != persisted_next_seq_ || work.next_seq_used != persisted_used_ ||
                !(totals == persisted_);
  persisted_next_seq_ = work.next_seq;
  persisted_used_ = work.next_seq_used;
  persisted_ = totals;
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
  sqlite3_bind_int64(ins, 1, to_db(r.seq));
  sqlite::bind_text(ins, 2, r.device);
  sqlite::bind_text(ins, 3, r.point);
  sqlite3_bind_int64(ins, 4, r.source_ts_ms);
  sqlite3_bind_int(ins, 5, static_cast<int>(r.quality));
  sqlite3_bind_int(ins, 6, static_cast<int>(schema::kind_of(r.value)));
  schema::bind_value(ins, 7, r.value);
  sqlite::bind_text(ins, 8, r.unit);
  sqlite::bind_text(ins, 9, r.error);
  sqlite3_bind_int64(ins, 10, to_db(size));
  sqlite::check(db_, sqlite3_step(ins), "insert", SQLITE_DONE);
  sqlite3_reset(ins);
}

std::uint64_t GroupCommit::hold_claims(FenceLock& fence) {
  if (!fence.owns_lock()) fence.lock();
  return *claims_.upto;
}

// Claimed readings (in flight, or acked and not deleted yet) are passed over:
// the forwarder may have handed them to the broker already. The index finds
// out cheaply whether anything is due, so most commits never hold the fence.
void GroupCommit::expire(std::int64_t cutoff, FenceLock& fence, CommitResult& out,
                         std::uint64_t& freed) {
  {
    sqlite::ResetOnExit reset(any_expired_.get());
    sqlite3_bind_int64(any_expired_.get(), 1, cutoff);
    const int rc = sqlite3_step(any_expired_.get());
    sqlite::check(db_, rc, "find expired", SQLITE_ROW, SQLITE_DONE);
    if (rc == SQLITE_DONE) return;
  }
  const auto claimed = hold_claims(fence);
  sqlite3_bind_int64(expire_.get(), 1, cutoff);
  sqlite3_bind_int64(expire_.get(), 2, to_db(claimed));
  step_deleted(db_, expire_.get(), "expire", out.dropped.expired, freed);
}

// The oldest readings not claimed go first. With every row claimed, the
// table stays over the bound until the broker confirms them (at most the
// forwarder's window and one peek).
void GroupCommit::evict_oldest(std::uint64_t& rows, std::uint64_t& bytes, FenceLock& fence,
                               CommitResult& out) {
  const auto claimed = to_db(hold_claims(fence));
  std::int64_t last = -1;
  {
    sqlite3_stmt* scan = oldest_.get();
    sqlite::ResetOnExit reset(scan);
    sqlite3_bind_int64(scan, 1, claimed);
    int rc = SQLITE_OK;
    while ((rows > max_rows_ || bytes > max_bytes_) && (rc = sqlite3_step(scan)) == SQLITE_ROW) {
      last = sqlite3_column_int64(scan, 0);
      bytes -= std::min(bytes, static_cast<std::uint64_t>(sqlite3_column_int64(scan, 1)));
      --rows;
      ++out.dropped.oldest;
    }
    if (rc != SQLITE_ROW) sqlite::check(db_, rc, "scan oldest", SQLITE_DONE, SQLITE_OK);
  }
  if (last >= 0) {
    sqlite3_bind_int64(delete_upto_.get(), 1, claimed);
    sqlite3_bind_int64(delete_upto_.get(), 2, last);
    step_done(db_, delete_upto_.get(), "evict oldest");
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
