// SqliteStore, readings in: the intake, seqs, pending_ (design notes and
// invariants: sqlite_store.hpp).
#include <algorithm>

#include "bridge/sqlite_store.hpp"
#include "bridge/store_schema.hpp"

namespace fieldgate::bridge {

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

void SqliteStore::count_suppressed(std::string_view device, std::uint64_t count) {
  if (count == 0) return;
  std::lock_guard lock(mu_);
  auto it = suppressed_.find(device);
  if (it == suppressed_.end()) {
    // Bounded like the file's reader (schema::read_meta): devices past the
    // bound are not counted in the buffer (the status topic still counts them).
    if (suppressed_.size() >= schema::kMaxSuppressedDevices) return;
    it = suppressed_.emplace(std::string(device), 0).first;
  }
  it->second += count;
}

std::optional<std::string> SqliteStore::note(std::string_view key) {
  std::lock_guard lock(mu_);
  const auto it = notes_.find(key);
  if (it == notes_.end()) return std::nullopt;
  return it->second;
}

void SqliteStore::set_note(std::string_view key, std::string text) {
  if (text.size() > schema::kMaxNoteBytes) return;
  std::lock_guard lock(mu_);
  if (!notes_.contains(key) && notes_.size() >= schema::kMaxNotes) return;
  notes_[std::string(key)] = text;
  notes_pending_[std::string(key)] = std::move(text);
}

void SqliteStore::admit(Batch& batch) {
  std::lock_guard lock(mu_);
  refused_oversize_ += intake_.admit(batch);
}

}  // namespace fieldgate::bridge
