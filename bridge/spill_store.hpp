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
#include "bridge/store_commit.hpp"
#include "config/config.hpp"

namespace fieldgate::bridge {

class DiskStore : public Store {
 public:
  /// append() for readings that already carry their seq: ascending, above
  /// every seq handed to this store before. Thread-safe, no I/O.
  virtual void append_numbered(Batch&& batch) = 0;

  /// Every seq below `upto` may be handed out: the next commit records them
  /// as taken (meta.next_seq), synced. Thread-safe.
  virtual void reserve_seqs(std::uint64_t upto) = 0;

  /// The next seq is at least `next` (seqs handed out above the file's own):
  /// what the last commit at stop writes. Thread-safe.
  virtual void advance_seq(std::uint64_t next) = 0;

  /// Every seq up to `upto` is claimed (Store::claim) from now on: readings
  /// the forwarder took from memory before they were spilled to the file.
  virtual void mark_claimed(std::uint64_t upto) = 0;

  /// What append() does to a batch before it numbers it, for a store in
  /// front of this one: text made valid UTF-8, readings larger than
  /// max_reading removed and counted (refused_oversize). Thread-safe.
  virtual void admit(Batch& batch) = 0;

  /// dead_letter() for readings that may not be in the file yet: those that
  /// carry their Reading are written to the dead-letter table as they are.
  virtual void dead_letter_numbered(std::vector<DeadLetterWork>&& letters) = 0;
};

/// The memory queue in front of `disk` (config.spill_after, spill_memory).
[[nodiscard]] std::unique_ptr<Store> make_spill_store(std::unique_ptr<DiskStore> disk,
                                                      const config::StoreConfig& config);

}  // namespace fieldgate::bridge
