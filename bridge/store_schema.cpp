#include "bridge/store_schema.hpp"

#include <array>
#include <chrono>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "bridge/sqlite_handles.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge::schema {
namespace {

// A reading's row: the columns of `readings`, and the first columns of
// `dead_letters`, whose rows are readings moved whole plus why and when.
constexpr const char* kReadingColumns =
    "seq INTEGER PRIMARY KEY, device TEXT NOT NULL, point TEXT NOT NULL, ts_ms INTEGER NOT NULL, "
    "quality INTEGER NOT NULL, value_kind INTEGER NOT NULL, value, unit TEXT NOT NULL, "
    "error TEXT NOT NULL, size INTEGER NOT NULL";

// Version 1. `value` has no declared type on purpose: each row keeps the
// storage class it was bound with (NULL, INTEGER, REAL, TEXT). The ts_ms index
// serves max_age expiry and the oldest/newest figures of stats without a scan.
void migrate_to_v1(sqlite3* db) {
  sqlite::exec(db, fmt::format("CREATE TABLE readings ({});"
                               "CREATE INDEX readings_by_ts ON readings(ts_ms);"
                               "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) "
                               "WITHOUT ROWID;",
                               kReadingColumns)
                       .c_str());
  sqlite::exec(db, fmt::format("INSERT INTO meta(key, value) VALUES ('{}', 1), ('{}', 0), "
                               "('{}', 0), ('{}', 0), ('{}', 0), ('{}', {});",
                               kMetaNextSeq, kMetaDroppedOldest, kMetaDroppedNewest,
                               kMetaDroppedExpired, kMetaPurged, kMetaCreatedMs, unix_ms_now())
                       .c_str());
  sqlite::exec(db, fmt::format("PRAGMA application_id = {};", kApplicationId).c_str());
}

// Version 2: dead letters, readings the forwarder cannot send (a topic or
// payload the client or the broker refuses, a row too large to publish). They
// leave `readings` so that they never block the readings behind them, and are
// kept here, with the reason, for `fieldgate queue` to show, export and purge.
void migrate_to_v2(sqlite3* db) {
  sqlite::exec(db, fmt::format("CREATE TABLE dead_letters ({}, reason TEXT NOT NULL, dead_ms "
                               "INTEGER NOT NULL);",
                               kReadingColumns)
                       .c_str());
  sqlite::exec(db, fmt::format("INSERT OR IGNORE INTO meta(key, value) VALUES ('{}', 0), "
                               "('{}', 0), ('{}', 0);",
                               kMetaDeadLettered, kMetaDeadDropped, kMetaRefusedOversize)
                       .c_str());
}

// kMigrations[i] takes the schema from version i to i + 1. Version 3 is one
// more function here; the loop in migrate() does the rest.
using Migration = void (*)(sqlite3*);
constexpr std::array<Migration, kVersion> kMigrations = {&migrate_to_v1, &migrate_to_v2};

}  // namespace

std::string_view to_string(ValueKind kind) noexcept {
  switch (kind) {
    case ValueKind::kNone:
      return "none";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kDouble:
      return "double";
    case ValueKind::kString:
      return "string";
  }
  return "unknown";
}

ValueKind kind_of(const Value& value) noexcept {
  switch (value.index()) {
    case 1:
      return ValueKind::kBool;
    case 2:
      return ValueKind::kInt;
    case 3:
      return ValueKind::kDouble;
    case 4:
      return ValueKind::kString;
    default:
      return ValueKind::kNone;
  }
}

Inspection inspect(sqlite3* db) {
  Inspection result;
  // The first read of the file: SQLITE_NOTADB / SQLITE_CORRUPT surface here.
  const auto tables = sqlite::query_int(db, "SELECT count(*) FROM sqlite_schema");
  result.application_id = static_cast<std::int32_t>(sqlite::query_int(db, "PRAGMA application_id"));
  result.version = static_cast<int>(sqlite::query_int(db, "PRAGMA user_version"));
  result.detail =
      fmt::format("application_id {:#x}, user_version {}, {} schema objects",
                  static_cast<std::uint32_t>(result.application_id), result.version, tables);
  if (result.application_id == 0 && result.version == 0 && tables == 0) {
    result.identity = Identity::kEmpty;
  } else if (result.application_id != kApplicationId) {
    result.identity = Identity::kForeign;
  } else if (result.version > kVersion) {
    result.identity = Identity::kFuture;
  } else if (result.version == 0) {
    // Our id but no schema yet cannot happen (both are set in one
    // transaction); treat it as anything else we did not write.
    result.identity = Identity::kForeign;
  } else {
    // Version 1 has readings and meta; version 2 adds dead_letters.
    const auto ours =
        sqlite::query_int(db,
                          "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                          "('readings', 'meta', 'dead_letters')");
    const auto expected = result.version >= 2 ? 3 : 2;
    result.identity = ours == expected ? Identity::kFieldgate : Identity::kForeign;
    if (ours != expected) {
      result.detail += result.version >= 2 ? ", tables readings/meta/dead_letters missing"
                                           : ", tables readings/meta missing";
    }
  }
  return result;
}

void migrate(sqlite3* db, int from_version) {
  for (int v = from_version; v < kVersion; ++v) {
    sqlite::exec(db, "BEGIN IMMEDIATE");
    try {
      kMigrations[static_cast<std::size_t>(v)](db);
      sqlite::exec(db, fmt::format("PRAGMA user_version = {};", v + 1).c_str());
      sqlite::exec(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

Meta read_meta(sqlite3* db) {
  Meta meta;
  auto stmt = sqlite::prepare(db, "SELECT key, value FROM meta", false);
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto key = sqlite::column_text(stmt.get(), 0);
    if (key.starts_with(kMetaNotePrefix) && sqlite3_column_type(stmt.get(), 1) == SQLITE_TEXT) {
      const auto text = sqlite::column_text(stmt.get(), 1);
      if (meta.notes.size() < kMaxNotes && text.size() <= kMaxNoteBytes) {
        meta.notes.emplace(key.substr(kMetaNotePrefix.size()), text);
      }
      continue;
    }
    const auto value = sqlite3_column_int64(stmt.get(), 1);
    const auto u = static_cast<std::uint64_t>(value < 0 ? 0 : value);
    if (key == kMetaNextSeq) meta.next_seq = u;
    if (key == kMetaNextSeqUsed) meta.next_seq_used = u;
    if (key == kMetaDroppedOldest) meta.dropped_oldest = u;
    if (key == kMetaDroppedNewest) meta.dropped_newest = u;
    if (key == kMetaDroppedExpired) meta.dropped_expired = u;
    if (key == kMetaPurged) meta.purged = u;
    if (key == kMetaDeadLettered) meta.dead_lettered = u;
    if (key == kMetaDeadDropped) meta.dead_dropped = u;
    if (key == kMetaRefusedOversize) meta.refused_oversize = u;
    if (key == kMetaCreatedMs) meta.created_ms = value;
    if (key.starts_with(kMetaSuppressedPrefix) && key.size() > kMetaSuppressedPrefix.size() &&
        meta.suppressed.size() < kMaxSuppressedDevices) {
      meta.suppressed.emplace(key.substr(kMetaSuppressedPrefix.size()), u);
    }
  }
  sqlite::check(db, rc, "read meta", SQLITE_DONE);
  return meta;
}

std::string check_seqs(sqlite3* db, int version, std::uint64_t max_next_seq) {
  // Raw values: read_meta() turns a negative one into 0.
  const auto meta_value = [db](const char* key) -> std::optional<std::int64_t> {
    auto stmt = sqlite::prepare(db, "SELECT value FROM meta WHERE key = ?1", false);
    sqlite3_bind_text(stmt.get(), 1, key, -1, SQLITE_STATIC);
    const int rc = sqlite3_step(stmt.get());
    sqlite::check(db, rc, "read meta", SQLITE_ROW, SQLITE_DONE);
    if (rc == SQLITE_DONE) return std::nullopt;
    return sqlite3_column_int64(stmt.get(), 0);
  };
  const std::string tables = version >= 2
                                 ? "SELECT seq FROM readings UNION ALL SELECT seq FROM dead_letters"
                                 : "SELECT seq FROM readings";
  const auto rows = sqlite::query_int(db, ("SELECT count(*) FROM (" + tables + ")").c_str());
  const auto min_seq = sqlite::query_int(db, ("SELECT min(seq) FROM (" + tables + ")").c_str());
  const auto max_seq = sqlite::query_int(db, ("SELECT max(seq) FROM (" + tables + ")").c_str());
  const auto next = meta_value(kMetaNextSeq).value_or(1);
  const auto used = meta_value(kMetaNextSeqUsed).value_or(0);
  if (rows > 0 && min_seq < 1) {
    return fmt::format("a stored reading has seq {}; seqs start at 1", min_seq);
  }
  if (next < 1) return fmt::format("meta.next_seq is {}; it must be at least 1", next);
  if (rows > 0 && next <= max_seq) {
    return fmt::format(
        "meta.next_seq is {}, not above the highest stored seq {}: seqs would be handed out twice",
        next, max_seq);
  }
  if (static_cast<std::uint64_t>(next) > max_next_seq) {
    return fmt::format(
        "meta.next_seq is {}, too close to the end of the seq range (at most {} when a gateway "
        "starts) for seqs to advance",
        next, max_next_seq);
  }
  if (used != 0 && (used > next || (rows > 0 && used <= max_seq))) {
    return fmt::format(
        "meta.next_seq_used is {}; it must lie above the highest stored seq ({}) and at most at "
        "meta.next_seq ({})",
        used, rows > 0 ? max_seq : 0, next);
  }
  return {};
}

Reading read_reading(sqlite3_stmt* stmt) {
  Reading r;
  r.seq = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
  r.device = sqlite::column_text(stmt, 1);
  r.point = sqlite::column_text(stmt, 2);
  r.source_ts_ms = sqlite3_column_int64(stmt, 3);
  r.quality = static_cast<Quality>(static_cast<std::uint8_t>(sqlite3_column_int(stmt, 4)));
  switch (static_cast<ValueKind>(sqlite3_column_int(stmt, 5))) {
    case ValueKind::kNone:
      break;
    case ValueKind::kBool:
      r.value = sqlite3_column_int64(stmt, 6) != 0;
      break;
    case ValueKind::kInt:
      r.value = static_cast<std::int64_t>(sqlite3_column_int64(stmt, 6));
      break;
    case ValueKind::kDouble:
      // SQLite stores a NaN as NULL; value_kind remembers it was a double.
      r.value = sqlite3_column_type(stmt, 6) == SQLITE_NULL
                    ? std::numeric_limits<double>::quiet_NaN()
                    : sqlite3_column_double(stmt, 6);
      break;
    case ValueKind::kString:
      r.value = std::string(sqlite::column_text(stmt, 6));
      break;
  }
  r.unit = sqlite::column_text(stmt, 7);
  r.error = sqlite::column_text(stmt, 8);
  return r;
}

int bind_value(sqlite3_stmt* stmt, int index, const Value& value) {
  switch (value.index()) {
    case 1:
      return sqlite3_bind_int(stmt, index, std::get<bool>(value) ? 1 : 0);
    case 2:
      return sqlite3_bind_int64(stmt, index, std::get<std::int64_t>(value));
    case 3:
      return sqlite3_bind_double(stmt, index, std::get<double>(value));
    case 4:
      return sqlite::bind_text(stmt, index, std::get<std::string>(value));
    default:
      return sqlite3_bind_null(stmt, index);
  }
}

std::uint64_t accounted_size(const Reading& reading) noexcept {
  std::uint64_t size = kRowOverhead + reading.device.size() + reading.point.size() +
                       reading.unit.size() + reading.error.size();
  if (const auto* s = std::get_if<std::string>(&reading.value)) {
    size += s->size();
  } else if (!std::holds_alternative<std::monostate>(reading.value)) {
    size += 8;
  }
  return size;
}

}  // namespace fieldgate::bridge::schema
