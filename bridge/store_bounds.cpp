// The store's bounds and eviction, all in one place: max_rows, max_bytes
// (accounted, and on disk less the WAL's allowance), max_age and the
// overflow policy, in the group commit (GroupCommit, store_commit.hpp) and in
// memory while commits fail (SqliteStore::trim_pending_locked). None of them
// ever drops a claimed reading (invariant 9 in sqlite_store.hpp).
#include <algorithm>

#include "bridge/sqlite_store.hpp"
#include "bridge/store_commit.hpp"
#include "bridge/store_commit_steps.hpp"
#include "bridge/store_schema.hpp"

namespace fieldgate::bridge {
namespace {

// The WAL's share of max_bytes: a sixteenth, at most SQLite's customary
// 16 MiB (the figure the store always used), at least 64 KiB.
constexpr std::uint64_t kMaxWalAllowance = 16ULL * 1024 * 1024;
constexpr std::uint64_t kMinWalAllowance = 64ULL * 1024;
// Below this many accounted bytes the measured ratio is mostly the schema's
// own pages: the last good figure (or the cautious first one) is kept.
constexpr std::uint64_t kMinBytesForRatio = 64ULL * 1024;
// Rounds of "measure, evict more" per commit; each one frees what the
// measurement asks for plus a page, so one or two do.
constexpr int kDiskBoundRounds = 4;

}  // namespace

std::uint64_t wal_allowance(std::uint64_t max_bytes) noexcept {
  return std::clamp(max_bytes / 16, kMinWalAllowance, kMaxWalAllowance);
}

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

}  // namespace fieldgate::bridge
