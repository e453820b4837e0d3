// One group commit of the store (sqlite_store.cpp) as one SQLite
// transaction: delete what was delivered, expire what is too old, insert what
// is new, enforce the row and byte bounds, persist the counters. Used by the
// committer thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bridge/sqlite_handles.hpp"
#include "bridge/store_schema.hpp"
#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {

/// Dropped readings by reason (totals in meta, or one commit's share).
struct DropCounts {
  std::uint64_t oldest = 0;   // evicted to make room (drop_oldest)
  std::uint64_t newest = 0;   // refused for lack of room (drop_newest)
  std::uint64_t expired = 0;  // older than max_age
  [[nodiscard]] std::uint64_t sum() const noexcept { return oldest + newest + expired; }
  DropCounts& operator+=(const DropCounts& o) noexcept {
    oldest += o.oldest;
    newest += o.newest;
    expired += o.expired;
    return *this;
  }
  friend bool operator==(const DropCounts&, const DropCounts&) = default;
};

/// A reading to move to the dead-letter table.
struct DeadLetterWork {
  std::uint64_t seq = 0;
  std::string reason;
  /// Not in the file (spill mode, or still pending): written as it is.
  std::optional<Reading> reading;
  /// A column larger than max_reading: only its first kDeadLetterKeep bytes
  /// are copied, read in part (the whole value never enters memory).
  bool oversize = false;
};

/// Of a text column too large to publish, a dead letter keeps this many bytes.
inline constexpr std::size_t kDeadLetterKeep = 4096;

/// The dead-letter table's bound: at most this many rows, and a sixteenth of
/// the database's share of max_bytes; the oldest go first (counted).
inline constexpr std::uint64_t kMaxDeadLetters = 10'000;

/// What one group commit takes from the store's shared state.
struct CommitWork {
  std::deque<Reading> readings;        // in seq order
  std::vector<std::uint64_t> acks;     // any order, duplicates allowed
  std::vector<DeadLetterWork> dead;    // any order
  std::uint64_t next_seq = 1;          // persisted as meta.next_seq: the reservation (see
                                       // SqliteStore invariant 1), or the true next at stop
  std::uint64_t next_seq_used = 1;     // persisted as meta.next_seq_used
  DropCounts totals;                   // drop totals so far, persisted with this commit's own
  std::uint64_t refused_oversize = 0;  // total so far (meta.refused_oversize)
  std::map<std::string, std::uint64_t, std::less<>> suppressed;  // totals so far, by device
  std::map<std::string, std::string, std::less<>> notes;  // set since the last commit (Store::note)
  std::uint64_t ticket = 0;  // the flush() requests this commit answers
};

struct CommitResult {
  bool ok = false;
  int code = SQLITE_OK;  // the SQLite error when !ok (the transaction was rolled back)
  std::string error;
  std::uint64_t rows = 0;  // in the table after the commit
  std::uint64_t bytes = 0;
  std::uint64_t inserted = 0;
  std::uint64_t acked = 0;         // rows deleted because they were acked
  DropCounts dropped;              // by this commit
  std::uint64_t dead_moved = 0;    // readings moved to dead_letters
  std::uint64_t dead_dropped = 0;  // dead letters deleted to keep their table in its bound
  std::uint64_t dead_rows = 0;     // in dead_letters after the commit
  std::uint64_t dead_bytes = 0;
  std::uint64_t disk_bytes = 0;  // database pages in use after the commit (max_bytes bounds it)
  bool changed = false;          // anything was written
};

/// What a commit knows of the table before it runs (the store's figures).
struct TableFigures {
  std::uint64_t rows = 0;   // readings
  std::uint64_t bytes = 0;  // their accounted size
  std::uint64_t dead_rows = 0;
  std::uint64_t dead_bytes = 0;
};

/// How `max_bytes` splits between the database and its WAL: the WAL is
/// truncated back to this after each checkpoint (journal_size_limit), and
/// checkpointed at about half of it; the database gets the rest.
[[nodiscard]] std::uint64_t wal_allowance(std::uint64_t max_bytes) noexcept;

/// The config loader rejects a bound of 0; should one reach the store anyway,
/// it means "no limit" rather than "nothing fits".
[[nodiscard]] inline std::uint64_t effective_limit(std::uint64_t configured) noexcept {
  return configured == 0 ? std::numeric_limits<std::uint64_t>::max() : configured;
}

/// The readings the forwarder has claimed (Store::claim): every seq up to
/// `*upto`, guarded by `*mu`. A commit that deletes readings nobody confirmed
/// (expiry, eviction) holds `mu` from choosing them until COMMIT or ROLLBACK,
/// so no claim can hand out a row that the commit is removing.
struct ClaimFence {
  std::mutex* mu = nullptr;
  const std::uint64_t* upto = nullptr;
};

class GroupCommit {
 public:
  /// Prepares the statements on the writer connection. `meta` and `totals`
  /// are what the meta table holds now. Throws sqlite::Error.
  GroupCommit(sqlite3* db, const config::StoreConfig& config, const schema::Meta& meta,
              DropCounts totals, ClaimFence claims);

  /// Runs one transaction over the table as `before` describes it. Never
  /// throws for an SQLite error: the transaction is rolled back and the
  /// error comes back in the result, with nothing changed.
  CommitResult run(const CommitWork& work, const TableFigures& before);

  /// The database pages in use now, in bytes (what the bound applies to).
  [[nodiscard]] std::uint64_t disk_bytes();

  /// Learns how many accounted bytes a byte of database pages holds, from a
  /// file whose readings and dead letters account for `accounted` bytes (at
  /// open, so the first commit's estimate is as good as the later ones).
  void calibrate(std::uint64_t accounted);

 private:
  using FenceLock = std::unique_lock<std::mutex>;
  void body(const CommitWork& work, const TableFigures& before, FenceLock& fence,
            CommitResult& out);
  void delete_acked(const std::vector<std::uint64_t>& acks, CommitResult& out,
                    std::uint64_t& freed);
  void move_dead(const std::vector<DeadLetterWork>& dead, std::uint64_t& rows, std::uint64_t& bytes,
                 CommitResult& out);
  std::uint64_t copy_in_part(const DeadLetterWork& letter);
  void insert_dead(const Reading& r, std::uint64_t size, const std::string& reason);
  void bound_dead(CommitResult& out);
  void expire(std::int64_t cutoff, FenceLock& fence, CommitResult& out, std::uint64_t& freed);
  void insert(const Reading& r, std::uint64_t size);
  void evict_oldest(std::uint64_t& rows, std::uint64_t& bytes, std::uint64_t max_bytes,
                    FenceLock& fence, CommitResult& out);
  void refuse_newest(const CommitWork& work, std::uint64_t free_bytes, std::uint64_t& rows,
                     std::uint64_t& bytes, CommitResult& out);
  void keep_on_disk_bound(const CommitWork& work, std::uint64_t& rows, std::uint64_t& bytes,
                          FenceLock& fence, CommitResult& out);
  /// Blocks claims until the transaction ends; the highest claimed seq.
  std::uint64_t hold_claims(FenceLock& fence);
  void set_meta(const char* key, std::uint64_t value);
  void set_suppressed(const CommitWork& work);
  void set_notes(const CommitWork& work);
  void set_synchronous(bool full) noexcept;

  sqlite3* db_;
  const std::uint64_t max_rows_;
  const std::uint64_t max_bytes_;  // on the accounted size, as ever
  const std::uint64_t db_budget_;  // on the pages in use: max_bytes less the WAL's allowance
  const std::int64_t max_age_ms_;  // 0: no expiry
  const bool drop_newest_;
  const ClaimFence claims_;
  const std::uint64_t page_size_;
  // Accounted bytes per byte of database pages in use, as last measured: turns
  // the on-disk bound into an accounted one before the rows are written.
  double accounted_per_disk_byte_ = 0.5;
  sqlite::Stmt begin_, commit_, rollback_, insert_, delete_range_, any_expired_, expire_, oldest_,
      delete_upto_, set_meta_, page_count_, freelist_count_, move_dead_, delete_one_, insert_dead_,
      row_head_, oldest_dead_, delete_dead_upto_, delete_newest_;
  std::uint64_t persisted_next_seq_;  // what meta holds, to write only changes
  std::uint64_t persisted_used_ = 0;
  const bool sync_raises_;  // durability normal: a commit raising next_seq is synced anyway
  DropCounts persisted_;
  std::uint64_t persisted_dead_lettered_;
  std::uint64_t persisted_dead_dropped_;
  std::uint64_t persisted_refused_;
  std::map<std::string, std::uint64_t, std::less<>> persisted_suppressed_;
};

}  // namespace fieldgate::bridge
