// Spill mode ([store] mode = "spill"): readings wait for the broker in a
// bounded memory queue in front of the SQLite store, and reach the file only
// when they are not confirmed within spill_after, when the queue is full, or
// at shutdown. With a healthy uplink the SD card sees almost no writes; a
// crash or power cut loses what was in memory (docs/CONFIGURATION.md says
// so). SpillStore (spill_store.cpp) is the queue; DiskStore is what it needs
// from the file beneath it (SqliteStore implements both interfaces).
#pragma once

#include <cstdint>
#include <memory>

#include "bridge/store.hpp"
#include "config/config.hpp"

namespace fieldgate::bridge {

class DiskStore : public Store {
 public:
  /// append() for readings that already carry their seq: ascending, above
  /// every seq handed to this store before. Thread-safe, no I/O.
  virtual void append_numbered(Batch&& batch) = 0;

  /// Sets the seq a restart resumes at (meta.next_seq), written by the next
  /// commit: above every seq handed out (a reservation), or exactly the next
  /// one at a clean stop. Thread-safe.
  virtual void set_next_seq(std::uint64_t next) = 0;

  /// Every seq up to `upto` is claimed (Store::claim) from now on: readings
  /// the forwarder took from memory before they were spilled to the file.
  virtual void mark_claimed(std::uint64_t upto) = 0;
};

/// Seqs are reserved on the file this many at a time, so that a process that
/// dies with readings in memory never hands their seqs out again.
inline constexpr std::uint64_t kSpillSeqBlock = 100'000;

/// The memory queue in front of `disk` (config.spill_after, spill_memory).
[[nodiscard]] std::unique_ptr<Store> make_spill_store(std::unique_ptr<DiskStore> disk,
                                                      const config::StoreConfig& config);

}  // namespace fieldgate::bridge
