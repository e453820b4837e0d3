// SqliteStore: the store-and-forward buffer in one SQLite file (WAL mode).
// Internal to bridge/: everyone else opens it with open_sqlite_store()
// (store.hpp). Its work is in five files, one job each:
//   sqlite_store.cpp            open, close, stats
//   sqlite_store_append.cpp     readings in: intake, seq, pending_
//   sqlite_store_read.cpp       readings out: peek, claim, ack, dead_letter
//   sqlite_store_committer.cpp  the committer thread: group commits and their outcome
//   store_bounds.cpp            bounds and eviction (with GroupCommit's, store_commit.hpp)
//
// DESIGN NOTES (read before changing anything here)
//
// Where a reading is, and which function moves it:
//
//   append()                commit ok                     ack()              commit ok
//      ──► pending_ ──────────────────► committed row ─────────► hidden_ ─────────────► deleted
//    │      ▲    │ commit failed:             │
//    │      └────┘ restore_work()             ├─ commit: expired (max_age) or evicted
//    │           │                            │  (drop_oldest) ─► deleted, counted
//    │           │                            ├─ claim(): claimed (forwarder) ─ never evicted
//    │           │                            │  or expired, only acked (invariant 9)
//    │           │                            └─ dead_letter(), or a value over max_reading
//    │           │                               met by peek (invariant 10) ─► hidden_
//    │           │                               ─ commit ok ─► dead_letters table, counted
//    │           ├─ trim_pending_locked(): pending_ over max_rows/max_bytes ─► dropped, counted
//    │           └─ commit: drop_newest refuses what does not fit ─► dropped, counted
//    └─ intake (store_intake.hpp): over max_reading ─► refused, counted (no seq)
//
// "commit" is GroupCommit::run (store_commit.cpp), called by run() on the
// committer thread with the work take_work_locked() swapped out of pending_.
// In spill mode (spill_store.cpp) readings enter through append_numbered()
// instead, already numbered and possibly already claimed or even acked.
//
// The committer thread (run) and its states:
//
//   WAITING ──commit_interval elapsed / commit_batch pending / flush() / stop──► COMMITTING
//   COMMITTING ──ok──► WAITING          (listener called, then flush() callers released)
//   COMMITTING ──error──► FAILING       (work restored; error logged once)
//   FAILING ──commit_interval / flush() / stop──► COMMITTING   (commit_batch does not wake it)
//   FAILING ──ok──► WAITING             ("works again" logged once)
//   stop: one last COMMITTING, then the thread ends; what still fails is logged as lost.
//
// Invariants:
//  1. seq only grows and is never reused. append() assigns it under mu_ (in
//     spill mode SpillStore does, and reserves seqs with reserve_seqs()).
//     meta.next_seq is a reservation while the store runs: take_work_locked()
//     raises reserved_ kSeqReserveBlock ahead of next_seq_ whenever less than
//     half a block is left, and the transaction that persists a raise is
//     synced even with durability normal (GroupCommit::run). So every seq a
//     reading can have had, committed or lost with an unsynced commit in a
//     power cut, is below a meta.next_seq that survived. The constructor
//     resumes at max(meta.next_seq, max(seq) + 1); the last commit at stop
//     writes the true next seq, so only an unclean stop leaves a gap (logged
//     at the next open, meta.next_seq_used tells where it starts).
//  2. One transaction per group commit: ack deletes, expiry, inserts, bounds
//     and meta (GroupCommit::run). Either all of it is durable or none of it.
//  3. In-memory figures (rows_, bytes_, totals_, accepted_, …) take a commit's
//     effects only in apply_locked(), i.e. after COMMIT returned SQLITE_OK, so
//     they describe the file: rows_ = count(*), bytes_ = sum(size).
//  4. A failed commit loses nothing: restore_work_locked() puts the readings
//     back at the front of pending_ (they are older than anything appended
//     since) and the acks back into pending_acks_; the next attempt retries.
//     The only drops are the counted ones in the diagram.
//  5. Readings reach peek() only once committed: peek() reads through its own
//     connection (reader_), which sees committed WAL frames only.
//  6. An acked seq stays in hidden_ until the transaction deleting it has
//     committed. peek() holds read_mu_ for its whole read transaction and
//     finish_acks() takes read_mu_ to erase, so no snapshot taken before the
//     delete can return an acked row.
//  7. Only the committer thread touches the writer connection (file_, commit_);
//     flush() asks it and waits. Hence the commit listener always runs on the
//     store's own thread, with no lock held.
//  8. A commit error is logged when it starts or changes and once when it ends
//     (note_failure_locked / note_success_locked), never once per retry.
//  9. Eviction and expiry never delete a claimed reading (seq <= claimed_upto_,
//     set by claim(), i.e. handed to the forwarder and maybe to the broker):
//     a dropped reading is then one that no subscriber can have received, and
//     "dropped == missing" holds exactly. GroupCommit holds read_mu_ from
//     choosing the rows to drop until COMMIT/ROLLBACK (ClaimFence), so a
//     claim either happened before (and is respected) or reads after the
//     commit (and no longer sees the dropped rows). Claims are not persisted:
//     after a restart, readings in flight at the crash are unclaimed until the
//     forwarder sends them again.
//
// 10. A dead letter leaves the readings like an ack does (hidden at once,
//     moved by the next commit, in the same transaction as everything else)
//     and never comes back: peek() skips it, the commit copies the row to
//     dead_letters and deletes it. A row with a value larger than
//     max_reading is never loaded: the reader's SQLITE_LIMIT_LENGTH makes its
//     step fail with SQLITE_TOOBIG, peek_locked() finds its seq (seq column
//     only), hides it and goes on after it; the commit copies at most
//     kDeadLetterKeep bytes of each of its values (blob API). So no row,
//     whatever its content, keeps the rows behind it from being read.
// 11. Every reading passes the intake before it gets a seq (append(), and
//     admit() for spill mode): text valid UTF-8, nothing larger than
//     max_reading. A refused reading takes no seq and is counted
//     (meta.refused_oversize, with the next commit).
// 12. max_bytes bounds the file: the database pages in use after a commit
//     are at most max_bytes less the WAL's allowance (GroupCommit measures
//     them in the transaction and evicts or refuses until they fit), except
//     for claimed readings, which are never evicted (invariant 9).
// 13. The file is not opened at all (StoreDamagedError, nothing written) when
//     its seq bookkeeping contradicts invariant 1: meta.next_seq not above a
//     stored seq (readings or dead letters), or above kMaxOpeningSeq.
//
// Locks: mu_ (pending, counters, thread control) and read_mu_ (reader_,
// hidden_, claimed_upto_) are never held together.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bridge/spill_store.hpp"
#include "bridge/sqlite_handles.hpp"
#include "bridge/store.hpp"
#include "bridge/store_commit.hpp"
#include "bridge/store_file.hpp"
#include "bridge/store_intake.hpp"

namespace fieldgate::bridge {

/// The store in one SQLite file, as the notes above describe; made by
/// open_sqlite_store() (store.hpp).
class SqliteStore final : public DiskStore {
 public:
  explicit SqliteStore(const config::StoreConfig& config);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void append(Batch&& batch) override;
  void flush() override;
  std::vector<Reading> peek(std::uint64_t after, std::size_t n) override;
  std::vector<Reading> claim(std::uint64_t after, std::size_t n) override;
  void ack(std::span<const std::uint64_t> seqs) override;
  void dead_letter(std::span<const DeadLetter> letters) override;
  StoreStats stats() override;
  void count_suppressed(std::string_view device, std::uint64_t count) override;
  [[nodiscard]] std::optional<std::string> note(std::string_view key) override;
  void set_note(std::string_view key, std::string text) override;
  void set_commit_listener(std::function<void()> listener) override;
  void append_numbered(Batch&& batch) override;
  void reserve_seqs(std::uint64_t upto) override;
  void advance_seq(std::uint64_t next) override;
  void mark_claimed(std::uint64_t upto) override;
  void dead_letter_numbered(std::vector<DeadLetterWork>&& letters) override;
  void admit(Batch& batch) override;

 private:
  void open_reader();
  std::vector<Reading> read(std::uint64_t after, std::size_t n, bool claiming);
  std::vector<Reading> peek_locked(std::uint64_t after, std::size_t n,
                                   std::vector<DeadLetterWork>& oversize);
  std::optional<std::uint64_t> next_seq_after_locked(std::uint64_t after);
  void run();
  CommitWork take_work_locked(bool stopping);
  void apply_locked(const CommitResult& out);
  void restore_work_locked(CommitWork&& work);
  void trim_pending_locked();
  void finish_acks(const CommitWork& work);
  void note_failure_locked(const CommitResult& out, std::size_t waiting);
  void note_success_locked();

  const config::StoreConfig config_;
  const std::uint64_t max_rows_;
  const std::uint64_t max_bytes_;
  const std::size_t commit_batch_;

  StoreFile file_;                     // writer connection + single-writer lock
  std::optional<GroupCommit> commit_;  // its statements; committer thread only

  std::mutex read_mu_;  // guards reader_, its statements, hidden_, claimed_upto_, peek_error_
  sqlite::Db reader_;
  sqlite::Stmt peek_, ts_range_, next_seq_after_;
  std::unordered_set<std::uint64_t> hidden_;  // acked, delete not committed yet
  std::uint64_t claimed_upto_ = 0;            // every seq up to it was claimed (invariant 9)
  int peek_error_ = SQLITE_OK;

  std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::deque<Reading> pending_;
  std::uint64_t pending_bytes_ = 0;
  std::vector<std::uint64_t> pending_acks_;
  std::vector<DeadLetterWork> pending_dead_;
  ReadingIntake intake_;
  std::uint64_t refused_oversize_ = 0;  // total, persisted with the next commit
  // By device, since the buffer was created; persisted with the next commit.
  std::map<std::string, std::uint64_t, std::less<>> suppressed_;
  std::map<std::string, std::string, std::less<>> notes_;          // as read and set since
  std::map<std::string, std::string, std::less<>> notes_pending_;  // set, not yet committed
  std::uint64_t next_seq_ = 1;
  std::uint64_t reserved_ = 1;              // meta.next_seq while running (invariant 1)
  std::uint64_t pending_claimed_upto_ = 0;  // claimed_upto_ as append_numbered() last saw it
  std::size_t committing_ = 0;              // readings inside the running commit
  std::uint64_t rows_ = 0;                  // written by the committer thread only (under mu_)
  std::uint64_t bytes_ = 0;
  std::uint64_t dead_rows_ = 0, dead_bytes_ = 0;        // the dead_letters table (same)
  std::uint64_t dead_lettered_ = 0, dead_dropped_ = 0;  // totals (meta)
  DropCounts totals_;  // since the buffer was created, incl. memory drops not yet persisted
  std::uint64_t unlogged_memory_drops_ = 0;
  std::uint64_t accepted_ = 0, acked_ = 0, commits_ = 0;
  std::uint64_t flush_requested_ = 0, flush_done_ = 0;
  bool stop_ = false;
  bool failing_ = false;
  int failure_code_ = SQLITE_OK;
  std::uint64_t failed_attempts_ = 0;
  std::function<void()> listener_;
  std::thread committer_;
};

}  // namespace fieldgate::bridge
