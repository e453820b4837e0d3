// Offline access to a store's database for `fieldgate queue`: read it while a
// gateway writes it (WAL readers) or while it is stopped, and purge it while
// it is stopped. Read-only opens never create, change or lock anything a
// running gateway needs; a file that is not a fieldgate buffer is refused
// before SQLite opens it.
//
// Not for a process that also has the same database open through SqliteStore:
// closing the descriptor used for the header check would drop SQLite's POSIX
// locks of that process (tests run the queue command as a child process).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bridge/sqlite_handles.hpp"
#include "bridge/store_schema.hpp"
#include "core/reading.hpp"

namespace fieldgate::queue {

// The store's file format and SQLite handles (bridge/), read here offline.
namespace schema = bridge::schema;
namespace sqlite = bridge::sqlite;

/// A problem the queue command prints as is: it names the file and the reason.
class QueueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Which readings a command applies to (all conditions must hold).
struct QueueFilter {
  std::optional<std::string> device;
  std::optional<std::string> point;
  std::optional<std::int64_t> since_ms;   // source time >= since
  std::optional<std::int64_t> before_ms;  // source time < before
  std::optional<std::uint64_t> limit;     // at most this many, oldest first
  bool dead = false;                      // the dead-letter table instead of the buffered readings

  /// No condition at all (a limit is not a condition).
  [[nodiscard]] bool matches_everything() const noexcept {
    return !device && !point && !since_ms && !before_ms;
  }
};

/// A buffered reading with what the table knows beyond the Reading itself.
struct StoredReading {
  Reading reading;
  std::uint64_t size = 0;     // accounted bytes
  std::string storage_class;  // SQLite's typeof(value): null, integer, real, text
  schema::ValueKind kind = schema::ValueKind::kNone;
  bool dead = false;         // a dead letter: the two below are set
  std::string reason;        // why it could not be sent
  std::int64_t dead_ms = 0;  // when it was moved to the dead-letter table
};

struct GroupCount {
  std::string device;
  std::string point;  // empty in the per-device list
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::int64_t oldest_ts_ms = 0;
  std::int64_t newest_ts_ms = 0;
};

struct QueueSummary {
  std::string path;
  int schema_version = 0;
  bool writer_active = false;  // a gateway holds the store's lock
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;       // accounted
  std::uint64_t file_bytes = 0;  // database + WAL on disk
  std::int64_t oldest_ts_ms = 0;
  std::int64_t newest_ts_ms = 0;
  std::uint64_t first_seq = 0;  // 0 when empty
  std::uint64_t last_seq = 0;
  std::uint64_t next_seq = 1;  // what the gateway hands out next (as of the last commit)
  /// Above next_seq: seqs a running gateway has reserved (or one that did not
  /// stop cleanly had; never handed out by the next), 0 if none.
  std::uint64_t reserved_upto = 0;
  std::uint64_t dead_letters = 0;  // rows in the dead-letter table
  std::uint64_t dead_bytes = 0;
  /// What is wrong with the seq bookkeeping ("" if nothing): a gateway
  /// refuses to start on such a buffer (schema::check_seqs).
  std::string seq_problem;
  schema::Meta meta;
  std::vector<GroupCount> devices;  // by device
  std::vector<GroupCount> points;   // by device and point
};

class QueueDb {
 public:
  enum class Mode {
    kRead,   // SQLITE_OPEN_READONLY (or immutable when nothing writes the file)
    kPurge,  // read-write, refused while a gateway holds the lock
  };

  /// Opens an existing fieldgate buffer. Throws QueueError for a missing
  /// path, a directory, a file that is not SQLite or not a fieldgate buffer,
  /// a buffer from a newer fieldgate, a damaged file, and (kPurge) a buffer
  /// in use by a running gateway. None of these touch the file.
  QueueDb(const std::string& path, Mode mode);

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool writer_active() const noexcept { return writer_active_; }
  /// Things the user should know about what they see (e.g. an unreadable WAL).
  [[nodiscard]] const std::vector<std::string>& notes() const noexcept { return notes_; }
  /// The buffer has a dead-letter table (schema 2 and later).
  [[nodiscard]] bool has_dead() const noexcept { return version_ >= 2; }

  /// One consistent snapshot of the counters and groups.
  [[nodiscard]] QueueSummary summary();

  /// Calls `visit` for each matching reading, oldest first, within one read
  /// snapshot, until it returns false. Returns how many it visited.
  std::uint64_t for_each(const QueueFilter& filter,
                         const std::function<bool(const StoredReading&)>& visit);

  [[nodiscard]] std::uint64_t count(const QueueFilter& filter);

  [[nodiscard]] std::optional<StoredReading> find(std::uint64_t seq);

  /// kPurge only: deletes the matching readings (filter.dead: dead letters)
  /// in one transaction and adds their number to the persisted `purged`
  /// total. A filter that matches everything needs `all`. Returns the number
  /// deleted.
  std::uint64_t purge(const QueueFilter& filter, bool all);

 private:
  void open_sqlite(bool wal_present);
  /// "readings" or "dead_letters"; throws QueueError for dead letters in a
  /// buffer from before they existed (schema 1) — callers check has_dead().
  [[nodiscard]] const char* table_of(const QueueFilter& filter) const;

  std::string path_;
  int version_ = 0;
  Mode mode_;
  bool writer_active_ = false;
  std::vector<std::string> notes_;
  sqlite::UniqueFd lock_;  // kPurge: held for the whole purge; closed after db_
  sqlite::Db db_;
};

}  // namespace fieldgate::queue
