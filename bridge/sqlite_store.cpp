// SqliteStore: the store-and-forward buffer in one SQLite file (WAL mode).
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
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge/spill_store.hpp"
#include "bridge/sqlite_handles.hpp"
#include "bridge/store.hpp"
#include "bridge/store_commit.hpp"
#include "bridge/store_file.hpp"
#include "bridge/store_intake.hpp"
#include "bridge/store_schema.hpp"

namespace fieldgate::bridge {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kReaderBusyTimeoutMs = 5000;

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

SqliteStore::SqliteStore(const config::StoreConfig& config)
    : config_(config),
      max_rows_(effective_limit(config.max_rows)),
      max_bytes_(effective_limit(config.max_bytes)),
      commit_batch_(static_cast<std::size_t>(std::max(1, config.commit_batch))),
      file_(open_store_file(config)),
      intake_(effective_limit(config.max_reading)) {
  try {
    sqlite3* db = file_.db.get();
    const auto meta = schema::read_meta(db);
    rows_ = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM readings"));
    bytes_ = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT total(size) FROM readings"));
    dead_rows_ =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM dead_letters"));
    dead_bytes_ =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT total(size) FROM dead_letters"));
    dead_lettered_ = meta.dead_lettered;
    dead_dropped_ = meta.dead_dropped;
    refused_oversize_ = meta.refused_oversize;
    // open_store_file() refused a file whose meta.next_seq is not above every
    // stored seq (schema::check_seqs), so this is meta.next_seq.
    const auto max_seq =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT max(seq) FROM readings"));
    next_seq_ = std::max(meta.next_seq, max_seq + 1);
    reserved_ = next_seq_;
    if (meta.next_seq_used != 0 && meta.next_seq > std::max(meta.next_seq_used, max_seq + 1)) {
      spdlog::warn(
          "store: {} was not closed cleanly (crash, kill or power cut): seqs {}..{} were "
          "reserved then and are skipped, so none is used twice",
          config_.path, std::max(meta.next_seq_used, max_seq + 1), meta.next_seq - 1);
    }
    totals_ = {meta.dropped_oldest, meta.dropped_newest, meta.dropped_expired};
    commit_.emplace(db, config_, meta, totals_, ClaimFence{&read_mu_, &claimed_upto_});
    commit_->calibrate(bytes_ + dead_bytes_);
    open_reader();
  } catch (const sqlite::Error& e) {
    throw std::runtime_error(fmt::format("store: cannot open {}: {}", config_.path, e.what()));
  }
  spdlog::info("store: {} open: {} readings ({} bytes) buffered, next seq {}, durability {}",
               config_.path, rows_, bytes_, next_seq_, config::to_string(config_.durability));
  if (dead_rows_ > 0) {
    spdlog::warn(
        "store: {} holds {} dead letters (readings that could not be sent); see `fieldgate "
        "queue ls --dead --db {}`",
        config_.path, dead_rows_, config_.path);
  }
  committer_ = std::thread([this] { run(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (committer_.joinable()) committer_.join();
}

// peek() and stats() read through their own connection: WAL lets it run
// beside the committer, and it only ever sees committed transactions.
void SqliteStore::open_reader() {
  reader_ = sqlite::open(config_.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  sqlite3_busy_timeout(reader_.get(), kReaderBusyTimeoutMs);
  // No value larger than a reading may be is ever loaded: such a row (from an
  // older configuration, or another tool) fails its step with SQLITE_TOOBIG
  // before SQLite allocates anything for it, and is dead-lettered (peek_locked).
  sqlite3_limit(reader_.get(), SQLITE_LIMIT_LENGTH,
                static_cast<int>(std::min<std::uint64_t>(intake_.max_reading(), INT32_MAX)));
  peek_ = sqlite::prepare(
      reader_.get(),
      fmt::format("SELECT {} FROM readings WHERE seq > ?1 ORDER BY seq", schema::kReadingColumns));
  // Two subqueries: SQLite answers a lone min() or max() from the index, but
  // not both in one select.
  ts_range_ = sqlite::prepare(reader_.get(),
                              "SELECT (SELECT min(ts_ms) FROM readings), "
                              "(SELECT max(ts_ms) FROM readings)");
  next_seq_after_ = sqlite::prepare(reader_.get(),
                                    "SELECT seq FROM readings WHERE seq > ?1 ORDER BY seq LIMIT 1");
}

void SqliteStore::append(Batch&& batch) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    refused_oversize_ += intake_.admit(batch);
    for (auto& reading : batch) {
      reading.seq = next_seq_++;
      pending_bytes_ += schema::accounted_size(reading);
      pending_.push_back(std::move(reading));
    }
    trim_pending_locked();
    wake = pending_.size() >= commit_batch_ && !failing_;
  }
  batch.clear();
  if (wake) wake_.notify_one();
}

void SqliteStore::append_numbered(Batch&& batch) {
  if (batch.empty()) return;
  std::uint64_t claimed = 0;
  {
    std::lock_guard lock(read_mu_);  // never held with mu_
    claimed = claimed_upto_;
  }
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    pending_claimed_upto_ = std::max(pending_claimed_upto_, claimed);
    for (auto& reading : batch) {  // SpillStore::append admitted them
      pending_bytes_ += schema::accounted_size(reading);
      pending_.push_back(std::move(reading));
    }
    next_seq_ = std::max(next_seq_, pending_.back().seq + 1);
    trim_pending_locked();
    wake = pending_.size() >= commit_batch_ && !failing_;
  }
  batch.clear();
  if (wake) wake_.notify_one();
}

void SqliteStore::reserve_seqs(std::uint64_t upto) {
  std::lock_guard lock(mu_);
  reserved_ = std::max(reserved_, upto);
}

void SqliteStore::advance_seq(std::uint64_t next) {
  std::lock_guard lock(mu_);
  next_seq_ = std::max(next_seq_, next);
}

void SqliteStore::mark_claimed(std::uint64_t upto) {
  std::lock_guard lock(read_mu_);
  claimed_upto_ = std::max(claimed_upto_, upto);
}

void SqliteStore::admit(Batch& batch) {
  std::lock_guard lock(mu_);
  refused_oversize_ += intake_.admit(batch);
}

void SqliteStore::dead_letter(std::span<const DeadLetter> letters) {
  std::vector<DeadLetterWork> work;
  work.reserve(letters.size());
  for (const auto& letter : letters) work.push_back({letter.seq, letter.reason, {}, false});
  dead_letter_numbered(std::move(work));
}

// As ack(): hidden at once (peek skips them), moved by the next commit.
void SqliteStore::dead_letter_numbered(std::vector<DeadLetterWork>&& letters) {
  if (letters.empty()) return;
  {
    std::lock_guard lock(read_mu_);
    for (const auto& letter : letters) hidden_.insert(letter.seq);
  }
  std::lock_guard lock(mu_);
  for (auto& letter : letters) pending_dead_.push_back(std::move(letter));
}

// Keeps the memory bounded while commits fail (or a batch alone exceeds the
// bounds): the overflow policy applied to pending_ itself, passing over
// claimed readings (spill mode hands over readings the forwarder has already
// sent). Counted like any other drop, persisted with the next commit that
// succeeds.
void SqliteStore::trim_pending_locked() {
  const auto over = [&](std::size_t removed) {
    return pending_.size() - removed > max_rows_ || pending_bytes_ > max_bytes_;
  };
  if (!over(0)) return;
  std::size_t dropped = 0;
  if (config_.overflow == config::Overflow::kDropOldest) {
    // pending_ is in seq order: the unclaimed ones are a suffix.
    const auto first =
        std::partition_point(pending_.begin(), pending_.end(),
                             [&](const Reading& r) { return r.seq <= pending_claimed_upto_; });
    auto last = first;
    while (last != pending_.end() && over(dropped)) {
      pending_bytes_ -= schema::accounted_size(*last++);
      ++dropped;
    }
    pending_.erase(first, last);
    totals_.oldest += dropped;
  } else {
    while (!pending_.empty() && pending_.back().seq > pending_claimed_upto_ && over(0)) {
      pending_bytes_ -= schema::accounted_size(pending_.back());
      pending_.pop_back();
      ++dropped;
    }
    totals_.newest += dropped;
  }
  unlogged_memory_drops_ += dropped;
}

void SqliteStore::flush() {
  std::unique_lock lock(mu_);
  if (stop_) return;
  const auto ticket = ++flush_requested_;
  wake_.notify_all();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || stop_; });
}

std::vector<Reading> SqliteStore::peek(std::uint64_t after, std::size_t n) {
  return read(after, n, false);
}

std::vector<Reading> SqliteStore::claim(std::uint64_t after, std::size_t n) {
  return read(after, n, true);
}

std::vector<Reading> SqliteStore::read(std::uint64_t after, std::size_t n, bool claiming) {
  std::vector<DeadLetterWork> oversize;
  std::vector<Reading> out;
  {
    std::lock_guard lock(read_mu_);
    out = peek_locked(after, n, oversize);
    if (claiming && !out.empty()) claimed_upto_ = std::max(claimed_upto_, out.back().seq);
  }
  if (!oversize.empty()) {
    std::lock_guard lock(mu_);  // never with read_mu_
    for (auto& letter : oversize) pending_dead_.push_back(std::move(letter));
  }
  return out;
}

std::optional<std::uint64_t> SqliteStore::next_seq_after_locked(std::uint64_t after) {
  sqlite3_stmt* stmt = next_seq_after_.get();
  sqlite::ResetOnExit reset(stmt);
  sqlite3_bind_int64(stmt, 1, static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX)));
  if (sqlite3_step(stmt) != SQLITE_ROW) return std::nullopt;
  return static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
}

// A row with a value larger than any reading may be (SQLITE_TOOBIG, see
// open_reader()) is hidden at once and queued in `oversize` to be moved to
// the dead-letter table in part; the read goes on after it. It never blocks
// the rows behind it, and never enters memory whole.
std::vector<Reading> SqliteStore::peek_locked(std::uint64_t after, std::size_t n,
                                              std::vector<DeadLetterWork>& oversize) {
  std::vector<Reading> out;
  if (n == 0) return out;
  out.reserve(std::min<std::size_t>(n, 4096));
  sqlite3_stmt* stmt = peek_.get();
  sqlite::ResetOnExit reset(stmt);
  sqlite3_bind_int64(stmt, 1, static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX)));
  int rc = SQLITE_OK;
  std::uint64_t last = after;  // the last row stepped over (read or skipped)
  for (;;) {
    while (out.size() < n && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
      last = seq;
      if (!hidden_.empty() && hidden_.count(seq) != 0) continue;
      out.push_back(schema::read_reading(stmt));
    }
    if (rc != SQLITE_TOOBIG || out.size() >= n) break;
    sqlite3_reset(stmt);
    const auto culprit = next_seq_after_locked(last);
    if (!culprit) break;
    if (hidden_.insert(*culprit).second) {
      oversize.push_back({*culprit,
                          fmt::format("a value is larger than [mqtt] max_payload ({} bytes)",
                                      intake_.max_reading()),
                          {},
                          true});
      spdlog::warn(
          "store: seq {} in {} holds a value larger than [mqtt] max_payload ({} bytes); it is "
          "moved to the dead-letter table with the first {} bytes of each such value",
          *culprit, config_.path, intake_.max_reading(), kDeadLetterKeep);
    }
    last = *culprit;
    sqlite3_bind_int64(stmt, 1,
                       static_cast<std::int64_t>(std::min<std::uint64_t>(last, INT64_MAX)));
  }
  // Steady state: report, never throw. The forwarder simply asks again later.
  const bool failed =
      out.size() < n && rc != SQLITE_DONE && rc != SQLITE_ROW && rc != SQLITE_TOOBIG;
  if (failed && rc != peek_error_) {
    spdlog::error("store: reading {} failed: {}", config_.path,
                  sqlite::describe(reader_.get(), rc));
  } else if (!failed && peek_error_ != SQLITE_OK) {
    spdlog::info("store: reading {} works again", config_.path);
  }
  peek_error_ = failed ? rc : SQLITE_OK;
  return out;
}

void SqliteStore::ack(std::span<const std::uint64_t> seqs) {
  if (seqs.empty()) return;
  {
    // Hidden first: were it queued first, a commit could delete it and
    // finish_acks() run before it is hidden, leaving it hidden forever.
    std::lock_guard lock(read_mu_);
    hidden_.insert(seqs.begin(), seqs.end());
  }
  std::lock_guard lock(mu_);
  pending_acks_.insert(pending_acks_.end(), seqs.begin(), seqs.end());
}

StoreStats SqliteStore::stats() {
  StoreStats s;
  {
    std::lock_guard lock(mu_);
    s.rows = rows_;
    s.bytes = bytes_;
    s.pending = pending_.size() + committing_;
    s.next_seq = next_seq_;
    s.accepted = accepted_;
    s.acked = acked_;
    s.commits = commits_;
    s.dropped_oldest = totals_.oldest;
    s.dropped_newest = totals_.newest;
    s.dropped_expired = totals_.expired;
    s.dead_lettered = dead_lettered_;
    s.dead_dropped = dead_dropped_;
    s.refused_oversize = refused_oversize_;
    s.dead_letters = dead_rows_;
  }
  s.path = config_.path;
  if (s.rows > 0) {
    std::lock_guard lock(read_mu_);
    sqlite3_stmt* stmt = ts_range_.get();
    sqlite::ResetOnExit reset(stmt);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      s.oldest_ts_ms = sqlite3_column_int64(stmt, 0);
      s.newest_ts_ms = sqlite3_column_int64(stmt, 1);
    }
  }
  return s;
}

void SqliteStore::set_commit_listener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

// The committer thread: one group commit per commit_interval, earlier when
// commit_batch readings are pending or flush() asks; a final one at stop.
void SqliteStore::run() {
  const auto interval = std::max(config_.commit_interval, config::Duration(1));
  std::unique_lock lock(mu_);
  auto next = Clock::now() + interval;
  for (;;) {
    wake_.wait_until(lock, next, [&] {
      return stop_ || flush_requested_ != flush_done_ ||
             (pending_.size() >= commit_batch_ && !failing_);
    });
    const bool stopping = stop_;
    CommitWork work = take_work_locked(stopping);
    const auto ticket = work.ticket;
    if (unlogged_memory_drops_ > 0) {
      spdlog::warn("store: {} readings dropped in memory ({}) while waiting for a commit",
                   unlogged_memory_drops_, config::to_string(config_.overflow));
      unlogged_memory_drops_ = 0;
    }
    lock.unlock();

    const auto out = commit_->run(work, {rows_, bytes_, dead_rows_, dead_bytes_});
    if (out.ok) finish_acks(work);

    lock.lock();
    if (out.ok) {
      apply_locked(out);
      note_success_locked();
    } else {
      note_failure_locked(out, work.readings.size() + pending_.size());
      restore_work_locked(std::move(work));
    }
    committing_ = 0;
    // The listener runs before flush() returns, so a flush() caller sees its
    // effects (the listener must not call flush() itself: it would wait on
    // its own thread).
    if (out.ok && out.inserted > 0 && listener_) {
      auto listener = listener_;
      lock.unlock();
      listener();
      lock.lock();
    }
    flush_done_ = std::max(flush_done_, ticket);
    flushed_.notify_all();
    next = Clock::now() + interval;
    if (stopping) break;
  }
  if (!pending_.empty()) {
    spdlog::error(
        "store: stopping with {} readings that could not be committed to {}; they are lost",
        pending_.size(), config_.path);
  }
}

CommitWork SqliteStore::take_work_locked(bool stopping) {
  CommitWork work;
  work.readings.swap(pending_);
  work.acks.swap(pending_acks_);
  work.dead.swap(pending_dead_);
  work.refused_oversize = refused_oversize_;
  // Spill mode only: a reading dead-lettered before it reached the file goes
  // to the dead-letter table straight from this group.
  if (!work.dead.empty() && !work.readings.empty()) {
    const auto first = work.readings.front().seq;
    for (auto& letter : work.dead) {
      if (letter.reading || letter.seq < first) continue;
      const auto it =
          std::lower_bound(work.readings.begin(), work.readings.end(), letter.seq,
                           [](const Reading& r, std::uint64_t seq) { return r.seq < seq; });
      if (it == work.readings.end() || it->seq != letter.seq) continue;
      letter.reading = std::move(*it);
      work.readings.erase(it);
    }
  }
  // Spill mode (append_numbered) only: a reading can be confirmed before it
  // reached the file. The commit deletes acked rows before it inserts, so such
  // a reading is left out here rather than written and resurrected.
  if (!work.acks.empty() && !work.readings.empty() &&
      std::any_of(work.acks.begin(), work.acks.end(),
                  [first = work.readings.front().seq](auto seq) { return seq >= first; })) {
    const std::unordered_set<std::uint64_t> acked(work.acks.begin(), work.acks.end());
    std::erase_if(work.readings, [&](const Reading& r) { return acked.contains(r.seq); });
  }
  pending_bytes_ = 0;
  // Invariant 1: a reservation ahead while running, the true next at stop.
  if (stopping) {
    reserved_ = next_seq_;
  } else if (next_seq_ + kSeqReserveBlock / 2 > reserved_) {
    reserved_ = next_seq_ + kSeqReserveBlock;
  }
  work.next_seq = std::max(reserved_, next_seq_);
  work.next_seq_used = next_seq_;
  work.totals = totals_;  // drops in memory after this are persisted by the next commit
  work.ticket = flush_requested_;
  committing_ = work.readings.size();
  return work;
}

void SqliteStore::apply_locked(const CommitResult& out) {
  rows_ = out.rows;
  bytes_ = out.bytes;
  dead_rows_ = out.dead_rows;
  dead_bytes_ = out.dead_bytes;
  dead_lettered_ += out.dead_moved;
  dead_dropped_ += out.dead_dropped;
  if (out.dead_dropped > 0) {
    spdlog::warn(
        "store: the dead-letter table of {} was over its bound; its {} oldest entries were "
        "deleted ({} since the buffer was created). Export and purge dead letters with "
        "`fieldgate queue` (docs/QUEUE.md)",
        config_.path, out.dead_dropped, dead_dropped_);
  }
  accepted_ += out.inserted;
  acked_ += out.acked;
  totals_ += out.dropped;
  if (out.changed) ++commits_;
  const auto& d = out.dropped;
  if (d.sum() > 0) {
    spdlog::warn(
        "store: dropped {} readings in this commit ({} oldest evicted, {} newest refused, {} "
        "older than max_age); {} dropped since the buffer was created",
        d.sum(), d.oldest, d.newest, d.expired, totals_.sum());
  }
}

void SqliteStore::finish_acks(const CommitWork& work) {
  if (work.acks.empty() && work.dead.empty()) return;
  std::lock_guard lock(read_mu_);
  for (auto seq : work.acks) hidden_.erase(seq);
  for (const auto& letter : work.dead) hidden_.erase(letter.seq);
}

void SqliteStore::restore_work_locked(CommitWork&& work) {
  // The failed work is older than anything appended meanwhile: it goes first.
  for (auto& r : pending_) work.readings.push_back(std::move(r));
  pending_.swap(work.readings);
  pending_bytes_ = 0;
  for (const auto& r : pending_) pending_bytes_ += schema::accounted_size(r);
  work.acks.insert(work.acks.end(), pending_acks_.begin(), pending_acks_.end());
  pending_acks_.swap(work.acks);
  for (auto& letter : pending_dead_) work.dead.push_back(std::move(letter));
  pending_dead_.swap(work.dead);
  trim_pending_locked();
}

void SqliteStore::note_failure_locked(const CommitResult& out, std::size_t waiting) {
  ++failed_attempts_;
  if (!failing_ || out.code != failure_code_) {
    spdlog::error(
        "store: commit to {} failed: {}. {} readings are kept in memory and retried every {} ms "
        "(dropping by {} once over max_rows/max_bytes)",
        config_.path, out.error, waiting, config_.commit_interval.count(),
        config::to_string(config_.overflow));
  }
  failing_ = true;
  failure_code_ = out.code;
}

void SqliteStore::note_success_locked() {
  if (failing_) {
    spdlog::info("store: commits to {} work again after {} failed attempts", config_.path,
                 failed_attempts_);
  }
  failing_ = false;
  failure_code_ = SQLITE_OK;
  failed_attempts_ = 0;
}

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const config::StoreConfig& config) {
  auto disk = std::make_unique<SqliteStore>(config);
  if (config.mode == config::StoreMode::kSpill) return make_spill_store(std::move(disk), config);
  return disk;
}

}  // namespace fieldgate::bridge
