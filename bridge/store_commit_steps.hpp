// SQL steps shared by the group commit's files (store_commit.cpp,
// store_bounds.cpp, store_dead_letters.cpp); internal to them.
#pragma once

#include <algorithm>
#include <cstdint>

#include "bridge/sqlite_handles.hpp"
#include "bridge/store_schema.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {

/// A count or seq as SQLite's int64 (saturating: none of ours comes near).
inline std::int64_t to_db(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX));
}

// Columns 1..10 of a readings or dead_letters row: the two tables share them.
inline void bind_reading(sqlite3_stmt* stmt, const Reading& r, std::uint64_t size) {
  sqlite3_bind_int64(stmt, 1, to_db(r.seq));
  sqlite::bind_text(stmt, 2, r.device);
  sqlite::bind_text(stmt, 3, r.point);
  sqlite3_bind_int64(stmt, 4, r.source_ts_ms);
  sqlite3_bind_int(stmt, 5, static_cast<int>(r.quality));
  sqlite3_bind_int(stmt, 6, static_cast<int>(schema::kind_of(r.value)));
  schema::bind_value(stmt, 7, r.value);
  sqlite::bind_text(stmt, 8, r.unit);
  sqlite::bind_text(stmt, 9, r.error);
  sqlite3_bind_int64(stmt, 10, to_db(size));
}

/// Steps a statement that returns no rows; throws sqlite::Error.
inline void step_done(sqlite3* db, sqlite3_stmt* stmt, const char* what) {
  sqlite::ResetOnExit reset(stmt);
  sqlite::check(db, sqlite3_step(stmt), what, SQLITE_DONE);
}

/// Steps a DELETE … RETURNING size, adding to `count` and `bytes`.
inline void step_deleted(sqlite3* db, sqlite3_stmt* stmt, const char* what, std::uint64_t& count,
                         std::uint64_t& bytes) {
  sqlite::ResetOnExit reset(stmt);
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    ++count;
    bytes += static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
  }
  sqlite::check(db, rc, what, SQLITE_DONE);
}

/// Steps a statement that returns one integer (a PRAGMA); negative reads as 0.
inline std::uint64_t step_int(sqlite3* db, sqlite3_stmt* stmt, const char* what) {
  sqlite::ResetOnExit reset(stmt);
  sqlite::check(db, sqlite3_step(stmt), what, SQLITE_ROW);
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, sqlite3_column_int64(stmt, 0)));
}

}  // namespace fieldgate::bridge
