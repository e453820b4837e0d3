// One group commit of the store (sqlite_store.cpp) as one SQLite
// transaction: delete what was delivered, expire what is too old, insert what
// is new, enforce the row and byte bounds, persist the counters. Used by the
// committer thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "bridge/sqlite_handles.hpp"
#include "config/config.hpp"
#include "drivers/reading.hpp"

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

/// What one group commit takes from the store's shared state.
struct CommitWork {
  std::deque<Reading> readings;     // in seq order
  std::vector<std::uint64_t> acks;  // any order, duplicates allowed
  std::uint64_t next_seq = 1;       // persisted as meta.next_seq: the reservation (see
                                    // SqliteStore invariant 1), or the true next at stop
  std::uint64_t next_seq_used = 1;  // persisted as meta.next_seq_used
  DropCounts totals;                // drop totals so far, persisted with this commit's own
  std::uint64_t ticket = 0;         // the flush() requests this commit answers
};

struct CommitResult {
  bool ok = false;
  int code = SQLITE_OK;  // the SQLite error when !ok (the transaction was rolled back)
  std::string error;
  std::uint64_t rows = 0;  // in the table after the commit
  std::uint64_t bytes = 0;
  std::uint64_t inserted = 0;
  std::uint64_t acked = 0;  // rows deleted because they were acked
  DropCounts dropped;       // by this commit
  bool changed = false;     // anything was written
};

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
  /// Prepares the statements on the writer connection. `next_seq` and
  /// `totals` are what the meta table holds now. Throws sqlite::Error.
  GroupCommit(sqlite3* db, const config::StoreConfig& config, std::uint64_t next_seq,
              DropCounts totals, ClaimFence claims);

  /// Runs one transaction over a table holding `rows` readings of `bytes`
  /// accounted bytes. Never throws for an SQLite error: the transaction is
  /// rolled back and the error comes back in the result, with nothing changed.
  CommitResult run(const CommitWork& work, std::uint64_t rows, std::uint64_t bytes);

 private:
  using FenceLock = std::unique_lock<std::mutex>;
  void body(const CommitWork& work, std::uint64_t rows, std::uint64_t bytes, FenceLock& fence,
            CommitResult& out);
  void delete_acked(const std::vector<std::uint64_t>& acks, CommitResult& out,
                    std::uint64_t& freed);
  void expire(std::int64_t cutoff, FenceLock& fence, CommitResult& out, std::uint64_t& freed);
  void insert(const Reading& r, std::uint64_t size);
  void evict_oldest(std::uint64_t& rows, std::uint64_t& bytes, FenceLock& fence, CommitResult& out);
  /// Blocks claims until the transaction ends; the highest claimed seq.
  std::uint64_t hold_claims(FenceLock& fence);
  void set_meta(const char* key, std::uint64_t value);
  void set_synchronous(bool full) noexcept;

  sqlite3* db_;
  const std::uint64_t max_rows_;
  const std::uint64_t max_bytes_;
  const std::int64_t max_age_ms_;  // 0: no expiry
  const bool drop_newest_;
  const ClaimFence claims_;
  sqlite::Stmt begin_, commit_, rollback_, insert_, delete_range_, any_expired_, expire_, oldest_,
      delete_upto_, set_meta_;
  std::uint64_t persisted_next_seq_;  // what meta holds, to write only changes
  std::uint64_t persisted_used_ = 0;
  const bool sync_raises_;  // durability normal: a commit raising next_seq is synced anyway
  DropCounts persisted_;
};

}  // namespace fieldgate::bridge
