#include "bridge/store_commit.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

#include <fmt/format.h>

#include "bridge/store_schema.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {
namespace {

// The WAL's share of max_bytes: a sixteenth, at most SQLite's customary
// 16 MiB (the figure the store always used), at least 64 KiB.
constexpr std::uint64_t kMaxWalAllowance = 16ULL * 1024 * 1024;
constexpr std::uint64_t kMinWalAllowance = 64ULL * 1024;
// Below this many accounted bytes the measured ratio is mostly the schema's
// own pages: the last good figure (or the cautious first one) is kept.
constexpr std::uint64_t kMinBytesForRatio = 64ULL * 1024;
// The database pages are bounded to no less than this: an empty buffer's
// schema takes a few pages, and max_bytes (at least 1 MiB in a configuration)
// is below it only in tests of the accounted bound.
constexpr std::uint64_t kMinDiskBudget = 256ULL * 1024;
// Rounds of "measure, evict more" per commit; each one frees what the
// measurement asks for plus a page, so one or two do.
constexpr int kDiskBoundRounds = 4;


std::int64_t to_db(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX));
}

// Columns 1..10 of a readings or dead_letters row: the two tables share them.
void bind_reading(sqlite3_stmt* stmt, const Reading& r, std::uint64_t size) {
  sqlite3_bind_int64(stmt, 1, to_db(r.seq));
  sqlite::bind_text(stmt, 2, r.device);
  sqlite::bind_text(stmt, 3, r.point);
  sqlite3_bind_int64(stmt, 4, r.source_ts_ms);
  sqlite3_bind_int(stmt, 5, static_cast<int>(r.quality));
  sqlite3_bind_int(stmt, 6, static_cast<int>(schema::kind_of(r.value)));
  schema::bind_value(stmt, 7, r.value);
  sqlite::bind_text(stmt, 8, r.unit);
  sqlite::bind_text(stmt, 9, r.error);
  sqlite3_bind_int64(stmt, 10, to_db(size));
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

std::uint64_t step_int(sqlite3* db, sqlite3_stmt* stmt, const char* what) {
  sqlite::ResetOnExit reset(stmt);
  sqlite::check(db, sqlite3_step(stmt), what, SQLITE_ROW);
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, sqlite3_column_int64(stmt, 0)));
}

}  // namespace

std::uint64_t wal_allowance(std::uint64_t max_bytes) noexcept {
  return std::clamp(max_bytes / 16, kMinWalAllowance, kMaxWalAllowance);
}

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
      persisted_refused_(meta.refused_oversize) {}

std::uint64_t GroupCommit::disk_bytes() {
  const auto pages = step_int(db_, page_count_.get(), "page_count");
  const auto free = step_int(db_, freelist_count_.get(), "freelist_count");
  return (pages - std::min(pages, free)) * page_size_;
}

void GroupCommit::calibrate(std::uint64_t accounted) {
  const auto in_use = disk_bytes();
  if (accounted >= kMinBytesForRatio && in_use > 0) {
    accounted_per_disk_byte_ = static_cast<double>(accounted) / static_cast<double>(in_use);
  }
}

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

  step_done(db_, commit_.get(), "commit");
  out.rows = rows;
  out.bytes = bytes;
  out.changed =
      out.inserted + out.acked + out.dropped.sum() + out.dead_moved + out.dead_dropped > 0 ||
      work.next_seq != persisted_next_seq_ || work.next_seq_used != persisted_used_ ||
      !(totals == persisted_) || work.refused_oversize != persisted_refused_;
  persisted_next_seq_ = work.next_seq;
  persisted_used_ = work.next_seq_used;
  persisted_ = totals;
  persisted_dead_lettered_ = dead_lettered;
  persisted_dead_dropped_ = dead_dropped;
  persisted_refused_ = work.refused_oversize;
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

// A row moves within the transaction: copied to dead_letters, then deleted.
// One that is no longer there (acked, evicted) moves nothing.
void GroupCommit::move_dead(const std::vector<DeadLetterWork>& dead, std::uint64_t& rows,
                            std::uint64_t& bytes, CommitResult& out) {
  const auto now = unix_ms_now();
  for (const auto& letter : dead) {
    std::uint64_t kept = 0;  // accounted bytes of a row copied in part
    if (letter.reading) {
      const auto size = schema::accounted_size(*letter.reading);
      insert_dead(*letter.reading, size, letter.reason);
      ++out.dead_moved;
      ++out.dead_rows;
      out.dead_bytes += size;
    } else if (letter.oversize) {
      kept = copy_in_part(letter);
    } else {
      sqlite3_stmt* move = move_dead_.get();
      sqlite::ResetOnExit reset(move);
      sqlite3_bind_int64(move, 1, to_db(letter.seq));
      sqlite::bind_text(move, 2, letter.reason);
      sqlite3_bind_int64(move, 3, now);
      sqlite::check(db_, sqlite3_step(move), "move to dead_letters", SQLITE_DONE);
    }
    std::uint64_t deleted = 0;
    std::uint64_t size = 0;
    sqlite3_bind_int64(delete_one_.get(), 1, to_db(letter.seq));
    step_deleted(db_, delete_one_.get(), "delete dead letter", deleted, size);
    if (deleted > 0 && !letter.reading) {
      ++out.dead_moved;
      ++out.dead_rows;
      out.dead_bytes += letter.oversize ? kept : size;
    }
    rows -= std::min(rows, deleted);
    bytes -= std::min(bytes, size);
  }
}

// A row with a column larger than max_reading: its text columns are read
// through the incremental blob API, which knows a column's length without
// reading it, and only the first kDeadLetterKeep bytes of each are copied.
std::uint64_t GroupCommit::copy_in_part(const DeadLetterWork& letter) {
  Reading r;
  r.seq = letter.seq;
  bool text_value = false;
  {
    sqlite3_stmt* head = row_head_.get();
    sqlite::ResetOnExit reset(head);
    sqlite3_bind_int64(head, 1, to_db(letter.seq));
    const int rc = sqlite3_step(head);
    sqlite::check(db_, rc, "read dead letter", SQLITE_ROW, SQLITE_DONE);
    if (rc == SQLITE_DONE) return 0;  // gone meanwhile (acked, evicted)
    r.source_ts_ms = sqlite3_column_int64(head, 0);
    r.quality = static_cast<Quality>(static_cast<std::uint8_t>(sqlite3_column_int(head, 1)));
    const auto kind = static_cast<schema::ValueKind>(sqlite3_column_int(head, 2));
    text_value = sqlite3_column_int(head, 3) != 0;
    if (!text_value) {
      if (kind == schema::ValueKind::kDouble && sqlite3_column_type(head, 4) == SQLITE_FLOAT) {
        r.value = sqlite3_column_double(head, 4);
      } else if (sqlite3_column_type(head, 4) == SQLITE_INTEGER) {
        r.value = static_cast<std::int64_t>(sqlite3_column_int64(head, 4));
      }
    }
  }
  std::string notes;
  auto read_part = [&](const char* column) -> std::string {
    sqlite3_blob* raw = nullptr;
    if (sqlite3_blob_open(db_, "main", "readings", column, to_db(letter.seq), 0, &raw) !=
        SQLITE_OK) {
      sqlite3_blob_close(raw);
      return {};  // NULL or a number: nothing of text to keep
    }
    const auto total = static_cast<std::size_t>(std::max(0, sqlite3_blob_bytes(raw)));
    std::string part(std::min(total, kDeadLetterKeep), '\0');
    const int rc = sqlite3_blob_read(raw, part.data(), static_cast<int>(part.size()), 0);
    sqlite3_blob_close(raw);
    sqlite::check(db_, rc, "read part of a dead letter");
    if (total > part.size()) {
      notes += fmt::format("{}{} is {} bytes, the first {} kept", notes.empty() ? "" : "; ", column,
                           total, part.size());
    }
    return to_valid_utf8(part);
  };
  r.device = read_part("device");
  r.point = read_part("point");
  if (text_value) r.value = read_part("value");
  r.unit = read_part("unit");
  r.error = read_part("error");
  const auto reason = notes.empty() ? letter.reason : fmt::format("{} ({})", letter.reason, notes);
  const auto size = schema::accounted_size(r);
  insert_dead(r, size, reason);
  return size;
}

void GroupCommit::insert_dead(const Reading& r, std::uint64_t size, const std::string& reason) {
  sqlite3_stmt* ins = insert_dead_.get();
  sqlite::ResetOnExit reset(ins);
  bind_reading(ins, r, size);
  sqlite::bind_text(ins, 11, reason);
  sqlite3_bind_int64(ins, 12, unix_ms_now());
  sqlite::check(db_, sqlite3_step(ins), "insert dead letter", SQLITE_DONE);
}

// The oldest dead letters go once the table exceeds its bound, counted in
// meta.dead_dropped: an endless stream of them (a topic no broker takes)
// must not crowd out the readings that can still be delivered.
void GroupCommit::bound_dead(CommitResult& out) {
  const std::uint64_t max_bytes = db_budget_ / 16;
  if (out.dead_rows <= kMaxDeadLetters && out.dead_bytes <= max_bytes) return;
  std::int64_t last = -1;
  {
    sqlite3_stmt* scan = oldest_dead_.get();
    sqlite::ResetOnExit reset(scan);
    int rc = SQLITE_OK;
    while ((out.dead_rows > kMaxDeadLetters || out.dead_bytes > max_bytes) &&
           (rc = sqlite3_step(scan)) == SQLITE_ROW) {
      last = sqlite3_column_int64(scan, 0);
      out.dead_bytes -=
          std::min(out.dead_bytes, static_cast<std::uint64_t>(sqlite3_column_int64(scan, 1)));
      --out.dead_rows;
      ++out.dead_dropped;
    }
    if (rc != SQLITE_ROW) sqlite::check(db_, rc, "scan dead letters", SQLITE_DONE, SQLITE_OK);
  }
  if (last >= 0) {
    sqlite3_bind_int64(delete_dead_upto_.get(), 1, last);
    step_done(db_, delete_dead_upto_.get(), "drop dead letters");
  }
}

// One prepared statement, bound per row; strings are bound without copies.
void GroupCommit::insert(const Reading& r, std::uint64_t size) {
  sqlite3_stmt* ins = insert_.get();
  bind_reading(ins, r, size);
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
void GroupCommit::evict_oldest(std::uint64_t& rows, std::uint64_t& bytes, std::uint64_t max_bytes,
                               FenceLock& fence, CommitResult& out) {
  const auto claimed = to_db(hold_claims(fence));
  std::int64_t last = -1;
  {
    sqlite3_stmt* scan = oldest_.get();
    sqlite::ResetOnExit reset(scan);
    sqlite3_bind_int64(scan, 1, claimed);
    int rc = SQLITE_OK;
    while ((rows > max_rows_ || bytes > max_bytes) && (rc = sqlite3_step(scan)) == SQLITE_ROW) {
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

// drop_newest over the measured bound: the newest readings of this commit
// (never a claimed one) are taken out again, so what it keeps of the group
// is still a prefix.
void GroupCommit::refuse_newest(const CommitWork& work, std::uint64_t free_bytes,
                                std::uint64_t& rows, std::uint64_t& bytes, CommitResult& out) {
  if (work.readings.empty() || out.inserted == 0) return;
  const std::uint64_t claimed = *claims_.upto;  // the fence is held (keep_on_disk_bound)
  std::uint64_t from = 0;
  std::uint64_t freeing = 0;
  for (auto it = work.readings.rbegin(); it != work.readings.rend() && freeing < free_bytes; ++it) {
    if (it->seq <= claimed) break;
    from = it->seq;
    freeing += schema::accounted_size(*it);
  }
  if (from == 0) return;
  std::uint64_t deleted = 0;
  std::uint64_t size = 0;
  sqlite3_bind_int64(delete_newest_.get(), 1, to_db(from));
  step_deleted(db_, delete_newest_.get(), "refuse newest", deleted, size);
  rows -= std::min(rows, deleted);
  bytes -= std::min(bytes, size);
  out.inserted -= std::min(out.inserted, deleted);
  out.dropped.newest += deleted;
}

// max_bytes bounds the file: the database pages in use are measured inside
// the transaction, and whatever the accounted estimate left above the
// database's share is evicted (drop_oldest) or refused (drop_newest) here.
// The freed pages are reused by the next inserts, so the file stops growing
// at the bound plus one commit's new pages. The ratio learnt here makes the
// next commit's estimate closer.
void GroupCommit::keep_on_disk_bound(const CommitWork& work, std::uint64_t& rows,
                                     std::uint64_t& bytes, FenceLock& fence, CommitResult& out) {
  auto in_use = disk_bytes();
  for (int round = 0; round < kDiskBoundRounds && in_use > db_budget_ && bytes > 0; ++round) {
    const double per_disk_byte =
        static_cast<double>(bytes + out.dead_bytes) / static_cast<double>(in_use);
    const auto excess = static_cast<std::uint64_t>(
        static_cast<double>(in_use - db_budget_ + page_size_) * per_disk_byte);
    const auto rows_before = rows;
    hold_claims(fence);
    if (drop_newest_) {
      refuse_newest(work, excess, rows, bytes, out);
    } else {
      evict_oldest(rows, bytes, bytes - std::min(bytes, excess), fence, out);
    }
    if (rows == rows_before) break;  // everything left is claimed (or not this commit's)
    in_use = disk_bytes();
  }
  out.disk_bytes = in_use;
  if (bytes + out.dead_bytes >= kMinBytesForRatio && in_use > 0) {
    accounted_per_disk_byte_ =
        static_cast<double>(bytes + out.dead_bytes) / static_cast<double>(in_use);
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
