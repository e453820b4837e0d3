// The layout of the buffer database, shared by the store (sqlite_store.cpp)
// and the offline queue reader (queue_db.cpp): identity (application_id and
// user_version), the migrations that create and upgrade it, and how one row
// maps to a Reading. The tables are documented in docs/QUEUE.md.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/reading.hpp"

namespace fieldgate::bridge::schema {

/// PRAGMA application_id of every fieldgate buffer ("FGQB"): tells our file
/// from any other SQLite database before anything is written to it.
inline constexpr std::int32_t kApplicationId = 0x46475142;
/// PRAGMA user_version this build writes. A file with a higher one was made by
/// a newer fieldgate and is not touched.
inline constexpr int kVersion = 2;

/// readings.value_kind: what `value` holds (SQLite alone cannot tell a bool
/// from an integer, nor a NaN double from "no value").
enum class ValueKind : int { kNone = 0, kBool = 1, kInt = 2, kDouble = 3, kString = 4 };

[[nodiscard]] std::string_view to_string(ValueKind kind) noexcept;
[[nodiscard]] ValueKind kind_of(const Value& value) noexcept;

// Keys of the meta table (key TEXT, value INTEGER).
inline constexpr const char* kMetaNextSeq = "next_seq";           // where the next run starts
inline constexpr const char* kMetaNextSeqUsed = "next_seq_used";  // below it: handed out
inline constexpr const char* kMetaDroppedOldest = "dropped_oldest";
inline constexpr const char* kMetaDroppedNewest = "dropped_newest";
inline constexpr const char* kMetaDroppedExpired = "dropped_expired";
inline constexpr const char* kMetaPurged = "purged";
// Version 2: readings moved to dead_letters since the buffer was created
// (the forwarder could not send them), dead letters deleted to keep that
// table within its bound, and readings refused at acquisition for their size.
inline constexpr const char* kMetaDeadLettered = "dead_lettered";
inline constexpr const char* kMetaDeadDropped = "dead_dropped";
inline constexpr const char* kMetaRefusedOversize = "refused_oversize";
inline constexpr const char* kMetaCreatedMs = "created_ms";
// "suppressed.<device>": readings that device's publish policy held back
// before they reached the buffer, since it was created (no schema change: a
// key per device; an older build ignores them).
inline constexpr std::string_view kMetaSuppressedPrefix = "suppressed.";
/// Devices whose suppressed counts are kept at most (read from a file, or
/// counted while running); the counts of more devices are not kept.
inline constexpr std::size_t kMaxSuppressedDevices = 4096;

// "note.<key>": a driver's note on a device (Store::note), a TEXT value in
// the INTEGER-typed column (SQLite keeps the text as it is; an older build
// ignores the key). Bounded in number and size, like everything read back.
inline constexpr std::string_view kMetaNotePrefix = "note.";
inline constexpr std::size_t kMaxNotes = 4096;
inline constexpr std::size_t kMaxNoteBytes = 4096;

/// Persisted counters (meta table).
struct Meta {
  std::uint64_t next_seq = 1;
  std::uint64_t next_seq_used = 0;  // 0: not recorded (a file of an older build)
  std::uint64_t dropped_oldest = 0;
  std::uint64_t dropped_newest = 0;
  std::uint64_t dropped_expired = 0;
  std::uint64_t purged = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t dead_dropped = 0;
  std::uint64_t refused_oversize = 0;
  std::int64_t created_ms = 0;
  std::map<std::string, std::uint64_t, std::less<>>
      suppressed;                                         // by device (kMetaSuppressedPrefix)
  std::map<std::string, std::string, std::less<>> notes;  // by key (kMetaNotePrefix stripped)
};

/// What a database file is, judged from its header and catalogue.
enum class Identity {
  kEmpty,      // no tables and no application_id: ours to initialise
  kFieldgate,  // a fieldgate buffer at a version this build reads
  kFuture,     // a fieldgate buffer from a newer schema
  kForeign,    // some other application's database
};

struct Inspection {
  Identity identity = Identity::kEmpty;
  int version = 0;
  std::int32_t application_id = 0;
  std::string detail;  // for messages: "application_id 0x… and 3 tables", …
};

/// Reads application_id, user_version and the catalogue. Throws sqlite::Error
/// (SQLITE_NOTADB, SQLITE_CORRUPT, …) when the file cannot even be read.
[[nodiscard]] Inspection inspect(sqlite3* db);

/// Brings a kEmpty or kFieldgate database from `from_version` to kVersion,
/// one transaction per step. Throws sqlite::Error.
void migrate(sqlite3* db, int from_version);

[[nodiscard]] Meta read_meta(sqlite3* db);

/// What is wrong with the seq bookkeeping of a fieldgate buffer at
/// `version`, or "" when nothing is: meta.next_seq must be above every
/// stored seq (readings and dead letters) and at most `max_next_seq`;
/// meta.next_seq_used, when recorded, must lie between the two; no stored
/// seq may be below 1. Reads only. Throws sqlite::Error.
[[nodiscard]] std::string check_seqs(sqlite3* db, int version, std::uint64_t max_next_seq);

/// The columns every reader selects, in the order read_reading() expects.
/// The dead_letters table has the same ones, then `reason` and `dead_ms`.
inline constexpr std::string_view kReadingColumns =
    "seq, device, point, ts_ms, quality, value_kind, value, unit, error, size";
inline constexpr int kSizeColumn = 9;
inline constexpr int kReasonColumn = 10;  // dead_letters only
inline constexpr int kDeadMsColumn = 11;

/// The text columns of a row, by name (the store reads oversize ones in part).
inline constexpr std::array<const char*, 5> kTextColumns = {"device", "point", "value", "unit",
                                                            "error"};

/// The Reading in the current row of a statement selecting kReadingColumns.
[[nodiscard]] Reading read_reading(sqlite3_stmt* stmt);

/// Binds `value` (NULL, INTEGER, REAL or TEXT; strings are not copied).
int bind_value(sqlite3_stmt* stmt, int index, const Value& value);

/// The bytes a reading counts against max_bytes: its strings and value plus a
/// fixed allowance for the other columns and SQLite's per-row overhead. An
/// estimate of the file space, stable across SQLite versions and page sizes.
[[nodiscard]] std::uint64_t accounted_size(const Reading& reading) noexcept;
inline constexpr std::uint64_t kRowOverhead = 32;

}  // namespace fieldgate::bridge::schema
