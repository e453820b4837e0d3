// The store-and-forward buffer: every reading the gateway accepts, until the
// broker has confirmed it. The interface is what drivers' sink and the
// forwarder see; SqliteStore (sqlite_store.hpp) is the implementation.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {

struct StoreStats {
  std::uint64_t rows = 0;         // readings buffered (committed or held, not yet deleted)
  std::uint64_t bytes = 0;        // their accounted size (what max_bytes bounds)
  std::uint64_t pending = 0;      // appended, waiting for the next group commit
  std::uint64_t memory = 0;       // of rows, held in memory only (spill mode)
  std::uint64_t spilled = 0;      // moved from memory to the file since open (spill mode)
  std::int64_t oldest_ts_ms = 0;  // source time of the oldest buffered reading, 0 if none
  std::int64_t newest_ts_ms = 0;
  std::uint64_t next_seq = 1;  // the seq the next accepted reading gets
  std::uint64_t accepted = 0;  // committed since open
  std::uint64_t acked = 0;     // deleted after delivery since open
  std::uint64_t commits = 0;   // transactions since open
  // Totals since the database was created (persisted):
  std::uint64_t dropped_oldest = 0;    // evicted to make room (overflow = drop_oldest)
  std::uint64_t dropped_newest = 0;    // refused for lack of room (overflow = drop_newest)
  std::uint64_t dropped_expired = 0;   // older than max_age
  std::uint64_t dead_lettered = 0;     // moved to dead_letters (the forwarder cannot send them)
  std::uint64_t dead_dropped = 0;      // dead letters deleted to keep that table in its bound
  std::uint64_t refused_oversize = 0;  // refused at acquisition: larger than max_reading
  /// Held back by each device's publish policy before the buffer (count_suppressed).
  std::map<std::string, std::uint64_t, std::less<>> suppressed;
  // Now:
  std::uint64_t dead_letters = 0;  // readings in the dead_letters table
  std::string path;
};

/// Why a reading goes to the dead-letter table instead of the broker.
struct DeadLetter {
  std::uint64_t seq = 0;
  std::string reason;  // for people: "topic is 70012 bytes long; MQTT allows 65535"
};

class Store {
 public:
  virtual ~Store() = default;

  /// Hands a batch to the store. Thread-safe, cheap (no I/O on the caller's
  /// thread): readings get their seq and wait for the next group commit,
  /// which happens within commit_interval or once commit_batch are pending.
  /// A reading is *accepted* once that commit succeeded.
  virtual void append(Batch&& batch) = 0;

  /// Commits whatever is pending now (shutdown, tests). Thread-safe.
  virtual void flush() = 0;

  /// Up to `n` committed readings with seq > `after`, oldest first, skipping
  /// those acknowledged but not yet deleted. Thread-safe.
  [[nodiscard]] virtual std::vector<Reading> peek(std::uint64_t after, std::size_t n) = 0;

  /// peek() for sending (the forwarder): from now on the readings returned,
  /// and every seq up to the last of them, are *claimed*. Eviction
  /// (drop_oldest) and expiry (max_age) pass over claimed readings, so a
  /// reading counted as dropped was never handed to the broker and the
  /// dropped count equals the readings a subscriber misses; only ack()
  /// removes a claimed reading. Claims last as long as the store object.
  /// A store without bounds may simply peek. Thread-safe.
  [[nodiscard]] virtual std::vector<Reading> claim(std::uint64_t after, std::size_t n) {
    return peek(after, n);
  }

  /// The broker confirmed these readings: they are deleted with the next
  /// commit and never returned by peek() again. Thread-safe.
  virtual void ack(std::span<const std::uint64_t> seqs) = 0;

  /// These readings cannot be sent (the client or the broker refuses the
  /// message, or it is too large): from now on peek() skips them, and the
  /// next commit moves them, with their reason, to the dead-letter table,
  /// where `fieldgate queue` shows them. Counted, never dropped silently.
  /// Thread-safe.
  virtual void dead_letter(std::span<const DeadLetter> letters) = 0;

  [[nodiscard]] virtual StoreStats stats() = 0;

  /// `count` readings of `device` were held back by its publish policy before
  /// they reached the store: added to the device's total, persisted with the
  /// next commit (StoreStats::suppressed, `fieldgate queue stats`). Thread-safe,
  /// no I/O. A store without a file may ignore it.
  virtual void count_suppressed(std::string_view device, std::uint64_t count) {
    (void)device;
    (void)count;
  }

  /// A driver's note on a device (drivers::DeviceNotes: the SunSpec layout
  /// it walked), kept in the file's meta as "note.<key>" (a TEXT value) and
  /// read back when the file is opened again; nullopt when there is none.
  /// Thread-safe, no I/O. A store without a file keeps none.
  [[nodiscard]] virtual std::optional<std::string> note(std::string_view key) {
    (void)key;
    return std::nullopt;
  }
  /// Keeps `text` under `key`, written with the next commit. At most
  /// schema::kMaxNotes keys of schema::kMaxNoteBytes are kept; others are
  /// not (the driver walks again at the next start). Thread-safe, no I/O.
  virtual void set_note(std::string_view key, std::string text) {
    (void)key;
    (void)text;
  }

  /// Called on the store's own thread after each commit that added readings
  /// (to wake the forwarder). Set before readings flow.
  virtual void set_commit_listener(std::function<void()> listener) = 0;
};

/// Seqs are reserved in the file this many at a time (meta.next_seq), so that
/// a process that dies, or loses its last commits in a power cut, never hands
/// a seq out again; a clean stop gives the unused ones back.
inline constexpr std::uint64_t kSeqReserveBlock = 100'000;

/// A buffer whose rows are intact but whose seq bookkeeping is not (a
/// meta.next_seq at or below a stored seq, or too close to the end of the
/// seq range to go on): moving it aside would lose its readings, starting
/// on it would hand out seqs twice or fail every commit. `fieldgate run`
/// refuses to start (exit status kExitBufferDamaged) and touches nothing.
class StoreDamagedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The largest seq a buffer may hand out when it opens: far beyond anything
/// a gateway reaches (2^62 readings), so a meta.next_seq above it can only
/// come from damage or a hand edit, and what remains can always advance by
/// many reservation blocks without reaching SQLite's INT64_MAX.
inline constexpr std::uint64_t kMaxOpeningSeq = std::uint64_t{1} << 62;

/// Opens (creating 0600 if needed) and starts the group-commit thread. A
/// database that cannot be opened or fails its integrity check is renamed to
/// "<path>.corrupt-<UTC timestamp>" (with its -wal/-shm), logged at error
/// level, and replaced by a fresh one. Throws StoreDamagedError (nothing
/// touched) for damaged seq bookkeeping, and std::runtime_error when even a
/// fresh database cannot be created (directory missing, no permission).
[[nodiscard]] std::unique_ptr<Store> open_sqlite_store(const config::StoreConfig& config);

}  // namespace fieldgate::bridge
