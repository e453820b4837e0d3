// SpillStore: the memory queue of spill mode, in front of a DiskStore.
//
// DESIGN NOTES
//
// Where a reading is, and which function moves it:
//
//   append() ──► held_ (memory) ──ack()──► acked: popped from the front
//                  │
//                  └─ spill(): older than spill_after, queue over spill_memory,
//                     or stop ──► spilling (still in held_, and handed to the
//                     disk store with its seq) ──flush() done──► popped; the
//                     reading now lives in the file like any other
//
// Invariants:
//  1. held_ holds consecutive seqs: append() numbers readings as it pushes
//     them, and only the front is ever popped. The entry of seq s is at
//     held_[s - front seq].
//  2. Every seq in the file is below every seq in memory that is not also in
//     the file: spill() takes readings from the front only. peek() returns
//     the file's readings first and then memory's above the last of them,
//     which is seq order without duplicates, also while a spilled group is in
//     both places.
//  3. A spilling reading is marked and handed to the disk store under mu_,
//     so ack() finds it in exactly one of the two: not yet handed over
//     (memory only) or handed over (the disk store takes the ack; a reading
//     confirmed before its commit is never written, SqliteStore::take_work_locked).
//  4. peek() and claim() read the file and memory under mu_, and spill() pops
//     a group only under mu_ after the disk store committed it, so a reading is
//     always visible in at least one of the two until it is acked.
//  5. seq is never handed out twice: append() hands out seqs only below
//     reserved_, a seq the file already records as taken (meta.next_seq, set
//     kSeqReserveBlock ahead, committed and synced by the spiller thread before use).
//     A clean stop writes back the true next seq, so only a crash leaves a gap.
//  6. Readings claimed from memory stay claimed in the file (mark_claimed
//     before append_numbered), so eviction never drops one the broker may have.
//  7. dead_letter() treats a reading like ack() does, except that the reading
//     goes to the file's dead-letter table: whole when it was in memory only
//     (DiskStore::dead_letter_numbered), by seq when the disk store has it.
//     Every reading passes the disk store's intake (DiskStore::admit) first.
//
// Locks: mu_ is taken before the disk store's own locks (peek, ack, append
// under mu_), never the other way round: the disk store calls nothing here.
#include "bridge/spill_store.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "bridge/store_schema.hpp"
#include "core/thread_name.hpp"

namespace fieldgate::bridge {
namespace {

using Clock = std::chrono::steady_clock;

class SpillStore final : public Store {
 public:
  SpillStore(std::unique_ptr<DiskStore> disk, const config::StoreConfig& config);
  ~SpillStore() override;
  SpillStore(const SpillStore&) = delete;
  SpillStore& operator=(const SpillStore&) = delete;

  void append(Batch&& batch) override;
  void flush() override { disk_->flush(); }
  std::vector<Reading> peek(std::uint64_t after, std::size_t n) override;
  std::vector<Reading> claim(std::uint64_t after, std::size_t n) override;
  void ack(std::span<const std::uint64_t> seqs) override;
  void dead_letter(std::span<const DeadLetter> letters) override;
  StoreStats stats() override;
  void count_suppressed(std::string_view device, std::uint64_t count) override {
    disk_->count_suppressed(device, count);  // counters live in the file's meta
  }
  std::optional<std::string> note(std::string_view key) override { return disk_->note(key); }
  void set_note(std::string_view key, std::string text) override {
    disk_->set_note(key, std::move(text));  // notes live in the file's meta
  }
  void set_commit_listener(std::function<void()> listener) override;

 private:
  struct Held {
    Reading reading;
    Clock::time_point since;
    std::uint64_t size = 0;  // accounted size (schema::accounted_size)
    bool acked = false;
    bool spilling = false;
  };

  std::vector<Reading> read_locked(std::uint64_t after, std::size_t n, bool claiming);
  void run();
  bool spill_locked(std::unique_lock<std::mutex>& lock, bool everything);
  void reserve_seqs_locked(std::unique_lock<std::mutex>& lock, std::uint64_t target);
  void pop_front_locked();
  /// The seq of held_.front() (invariant 1); an acked entry's reading is
  /// cleared, seq included, so it is computed, never read from the entry.
  [[nodiscard]] std::uint64_t front_seq_locked() const noexcept { return next_seq_ - held_.size(); }
  [[nodiscard]] std::uint64_t entry_bytes(const Held& h) const noexcept {
    return sizeof(Held) + (h.acked ? 0 : h.size);
  }

  std::unique_ptr<DiskStore> disk_;
  const Clock::duration spill_after_;
  const std::uint64_t spill_memory_;
  const Clock::duration tick_;

  std::mutex mu_;                       // guards everything below
  std::condition_variable wake_;        // the spiller thread
  std::condition_variable seqs_ready_;  // append() waiting for seqs
  std::deque<Held> held_;
  std::uint64_t held_bytes_ = 0;  // memory of held_: entry_bytes() summed
  std::uint64_t live_ = 0;        // in memory only: not acked, not spilling
  std::uint64_t live_bytes_ = 0;  // their accounted size
  std::uint64_t next_seq_ = 1;
  std::uint64_t reserved_ = 1;  // seqs below it are recorded as taken in the file
  std::uint64_t wanted_ = 0;    // append() waits for seqs up to this
  std::uint64_t claimed_upto_ = 0;
  std::uint64_t accepted_ = 0, acked_ = 0, spilled_ = 0;
  bool stop_ = false;
  std::function<void()> listener_;
  std::thread spiller_;
};

SpillStore::SpillStore(std::unique_ptr<DiskStore> disk, const config::StoreConfig& config)
    : disk_(std::move(disk)),
      spill_after_(config.spill_after),
      spill_memory_(config.spill_memory),
      tick_(std::clamp<Clock::duration>(config.spill_after / 4, std::chrono::milliseconds(10),
                                        std::chrono::milliseconds(250))) {
  next_seq_ = disk_->stats().next_seq;
  reserved_ = next_seq_ + kSeqReserveBlock;
  disk_->reserve_seqs(reserved_);
  disk_->flush();
  spdlog::info(
      "store: spill mode: readings wait in memory (up to {} bytes) and reach {} when "
      "unconfirmed after {} ms, when memory is full, or at stop",
      spill_memory_, config.path, config.spill_after.count());
  spiller_ = std::thread([this] {
    name_this_thread("spill");
    run();
  });
}

SpillStore::~SpillStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  seqs_ready_.notify_all();
  if (spiller_.joinable()) spiller_.join();
}

void SpillStore::append(Batch&& batch) {
  disk_->admit(batch);  // the disk store's intake (UTF-8, max_reading), before mu_
  if (batch.empty()) return;
  std::function<void()> listener;
  {
    std::unique_lock lock(mu_);
    const std::uint64_t need = next_seq_ + batch.size();
    if (need > reserved_ && !stop_) {
      wanted_ = std::max(wanted_, need);
      wake_.notify_all();
      seqs_ready_.wait(lock, [&] { return next_seq_ + batch.size() <= reserved_ || stop_; });
    }
    const auto now = Clock::now();
    for (auto& reading : batch) {
      reading.seq = next_seq_++;
      Held h{std::move(reading), now, 0};
      h.size = schema::accounted_size(h.reading);
      held_bytes_ += entry_bytes(h);
      live_bytes_ += h.size;
      held_.push_back(std::move(h));
    }
    live_ += batch.size();
    accepted_ += batch.size();
    if (held_bytes_ > spill_memory_ || next_seq_ + kSeqReserveBlock / 2 > reserved_) {
      wake_.notify_all();
    }
    listener = listener_;
  }
  batch.clear();
  if (listener) listener();  // the forwarder: new readings to send
}

std::vector<Reading> SpillStore::peek(std::uint64_t after, std::size_t n) {
  std::lock_guard lock(mu_);
  return read_locked(after, n, false);
}

std::vector<Reading> SpillStore::claim(std::uint64_t after, std::size_t n) {
  std::lock_guard lock(mu_);
  return read_locked(after, n, true);
}

// The file's readings first, then memory's (invariant 2).
std::vector<Reading> SpillStore::read_locked(std::uint64_t after, std::size_t n, bool claiming) {
  auto out = claiming ? disk_->claim(after, n) : disk_->peek(after, n);
  if (out.size() >= n || held_.empty()) return out;
  const std::uint64_t front = front_seq_locked();
  std::uint64_t from = std::max(after, out.empty() ? 0 : out.back().seq) + 1;
  for (auto i = from > front ? from - front : 0; i < held_.size() && out.size() < n; ++i) {
    if (!held_[i].acked) out.push_back(held_[i].reading);
  }
  if (claiming && !out.empty()) claimed_upto_ = std::max(claimed_upto_, out.back().seq);
  return out;
}

void SpillStore::ack(std::span<const std::uint64_t> seqs) {
  if (seqs.empty()) return;
  std::vector<std::uint64_t> to_disk;
  std::lock_guard lock(mu_);
  const std::uint64_t front = front_seq_locked();
  for (const auto seq : seqs) {
    if (seq < front || seq - front >= held_.size()) {
      to_disk.push_back(seq);  // in the file (spilled earlier, or from before a restart)
      continue;
    }
    Held& h = held_[seq - front];
    if (h.acked) continue;
    if (h.spilling) {
      to_disk.push_back(seq);  // handed over: the disk store owns it (invariant 3)
    } else {
      --live_;
      live_bytes_ -= h.size;
      ++acked_;
    }
    held_bytes_ -= entry_bytes(h);
    h.acked = true;
    h.reading = Reading{};  // its strings are freed now (seq too: see front_seq_locked)
    held_bytes_ += entry_bytes(h);
  }
  if (!to_disk.empty()) disk_->ack(to_disk);
  pop_front_locked();
}

// Like ack(), except that what leaves memory goes to the dead-letter table:
// a reading held only here is handed over whole (the file never had it), one
// spilling or in the file by its seq (invariant 3 tells which).
void SpillStore::dead_letter(std::span<const DeadLetter> letters) {
  if (letters.empty()) return;
  std::vector<DeadLetterWork> to_disk;
  std::lock_guard lock(mu_);
  const std::uint64_t front = front_seq_locked();
  for (const auto& letter : letters) {
    if (letter.seq < front || letter.seq - front >= held_.size()) {
      to_disk.push_back({letter.seq, letter.reason, {}, false});
      continue;
    }
    Held& h = held_[letter.seq - front];
    if (h.acked) continue;
    if (h.spilling) {
      to_disk.push_back({letter.seq, letter.reason, {}, false});
    } else {
      --live_;
      live_bytes_ -= h.size;
      to_disk.push_back({letter.seq, letter.reason, std::move(h.reading), false});
      to_disk.back().reading->seq = letter.seq;
    }
    held_bytes_ -= entry_bytes(h);
    h.acked = true;
    h.reading = Reading{};
    held_bytes_ += entry_bytes(h);
  }
  if (!to_disk.empty()) disk_->dead_letter_numbered(std::move(to_disk));
  pop_front_locked();
}

// Pops acked readings from the front; spilled ones are popped by spill().
void SpillStore::pop_front_locked() {
  while (!held_.empty() && held_.front().acked && !held_.front().spilling) {
    held_bytes_ -= entry_bytes(held_.front());
    held_.pop_front();
  }
}

StoreStats SpillStore::stats() {
  StoreStats s = disk_->stats();
  std::lock_guard lock(mu_);
  s.rows += live_;
  s.bytes += live_bytes_;
  s.memory = live_;
  s.spilled = spilled_;
  s.next_seq = next_seq_;
  s.accepted = accepted_;
  s.acked += acked_;
  for (const auto& h : held_) {
    if (h.acked || h.spilling) continue;
    if (s.oldest_ts_ms == 0 || h.reading.source_ts_ms < s.oldest_ts_ms) {
      s.oldest_ts_ms = h.reading.source_ts_ms;
    }
    break;  // the first one held is the oldest
  }
  if (live_ > 0) s.newest_ts_ms = std::max(s.newest_ts_ms, held_.back().reading.source_ts_ms);
  return s;
}

void SpillStore::set_commit_listener(std::function<void()> listener) {
  disk_->set_commit_listener(listener);
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

// The spiller thread: reserves seqs ahead of append(), moves what waited too
// long (or does not fit) to the file, and everything at stop.
void SpillStore::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, tick_, [&] {
      return stop_ || held_bytes_ > spill_memory_ || wanted_ > reserved_ ||
             next_seq_ + kSeqReserveBlock / 2 > reserved_;
    });
    if (stop_) break;
    if (wanted_ > reserved_ || next_seq_ + kSeqReserveBlock / 2 > reserved_) {
      reserve_seqs_locked(lock, std::max(next_seq_, wanted_) + kSeqReserveBlock);
    }
    spill_locked(lock, false);
  }
  const auto held = live_;
  if (spill_locked(lock, true)) {
    spdlog::info("store: stopping: {} unconfirmed readings moved from memory to the file", held);
  }
  // The file's last commit (when disk_ goes) writes this as the next seq and
  // gives the rest of the reservation back: a clean stop leaves no gap.
  disk_->advance_seq(next_seq_);
}

void SpillStore::reserve_seqs_locked(std::unique_lock<std::mutex>& lock, std::uint64_t target) {
  lock.unlock();
  disk_->reserve_seqs(target);
  disk_->flush();
  lock.lock();
  reserved_ = std::max(reserved_, target);
  seqs_ready_.notify_all();
}

// Hands the readings due (or all) to the file, waits for the commit, and pops
// them; true if there were any.
bool SpillStore::spill_locked(std::unique_lock<std::mutex>& lock, bool everything) {
  const auto cutoff = Clock::now() - spill_after_;
  const std::uint64_t low_water = spill_memory_ / 4 * 3;
  std::uint64_t remaining = held_bytes_;  // of held_ after what is chosen so far
  Batch batch;
  for (auto& h : held_) {
    if (!h.acked) {
      if (!everything && h.since > cutoff && remaining <= low_water) break;
      h.spilling = true;
      --live_;
      live_bytes_ -= h.size;
      batch.push_back(h.reading);
    }
    remaining -= entry_bytes(h);  // popped with the group
  }
  if (batch.empty()) return false;
  const auto count = batch.size();
  if (claimed_upto_ >= batch.front().seq) {
    disk_->mark_claimed(std::min(claimed_upto_, batch.back().seq));  // invariant 6
  }
  disk_->append_numbered(std::move(batch));  // under mu_: invariant 3
  lock.unlock();
  disk_->flush();
  lock.lock();
  spilled_ += count;
  // Invariant 4: popped only now that the file has them.
  while (!held_.empty() && (held_.front().acked || held_.front().spilling)) {
    held_bytes_ -= entry_bytes(held_.front());
    held_.pop_front();
  }
  return true;
}

}  // namespace

std::unique_ptr<Store> make_spill_store(std::unique_ptr<DiskStore> disk,
                                        const config::StoreConfig& config) {
  return std::make_unique<SpillStore>(std::move(disk), config);
}

}  // namespace fieldgate::bridge
