// SqliteStore's committer thread: takes the pending work, runs one group
// commit (store_commit.cpp) and applies or restores its outcome (design notes
// and invariants: sqlite_store.hpp).
#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

#include "bridge/sqlite_store.hpp"
#include "bridge/store_schema.hpp"

namespace fieldgate::bridge {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

void SqliteStore::flush() {
  std::unique_lock lock(mu_);
  if (stop_) return;
  const auto ticket = ++flush_requested_;
  wake_.notify_all();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || stop_; });
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
      for (const auto& [key, text] : work.notes) {
        const auto it = notes_pending_.find(key);
        if (it != notes_pending_.end() && it->second == text) notes_pending_.erase(it);
      }
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
  work.notes = notes_pending_;  // cleared once committed (run())
  // The policies' counts ride along with a commit that writes anyway, and
  // with flush() and the last commit: alone they would cost a write per
  // commit_interval, the very writes a policy is there to save.
  if (stopping || flush_requested_ != flush_done_ || !work.readings.empty() || !work.acks.empty() ||
      !work.dead.empty()) {
    work.suppressed = suppressed_;
  }
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

}  // namespace fieldgate::bridge
