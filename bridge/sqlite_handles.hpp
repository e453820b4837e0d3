// RAII for the SQLite C API (sqlite3*, sqlite3_stmt*) and for the file
// descriptor that holds the store's lock, plus the few helpers every user of
// the buffer database needs. Internal to bridge/ (the store and the queue
// reader); nothing outside bridge/ includes SQLite.
#pragma once

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "core/unique_fd.hpp"

namespace fieldgate::bridge::sqlite {

/// An SQLite failure: the primary result code (SQLITE_FULL, SQLITE_CORRUPT, …)
/// stays available so callers can tell "move the file aside" from "retry".
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] int code() const noexcept { return code_; }
  [[nodiscard]] int primary() const noexcept { return code_ & 0xff; }

 private:
  int code_;
};

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

/// "database or disk is full (SQLite code 13, No space left on device)".
inline std::string describe(sqlite3* db, int code) {
  std::string text = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  if (text != sqlite3_errstr(code)) text += std::string(": ") + sqlite3_errstr(code);
  text += " (SQLite code " + std::to_string(code);
  if (db != nullptr) {
    const int sys = sqlite3_system_errno(db);
    if (sys != 0) text += ", " + std::string(std::strerror(sys));
  }
  text += ")";
  return text;
}

/// Throws Error unless `code` is one of the two accepted results.
inline void check(sqlite3* db, int code, std::string_view what, int ok = SQLITE_OK,
                  int ok2 = SQLITE_OK) {
  if (code == ok || code == ok2) return;
  throw Error(code, std::string(what) + ": " + describe(db, code));
}

/// Opens a connection; `flags` as for sqlite3_open_v2 (add SQLITE_OPEN_URI for
/// "file:…?immutable=1"). Extended result codes are turned on.
inline Db open(const std::string& filename, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(filename.c_str(), &raw, flags, nullptr);
  Db db(raw);  // sqlite3_open_v2 allocates a handle even on failure
  if (rc != SQLITE_OK) throw Error(rc, "cannot open " + filename + ": " + describe(db.get(), rc));
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

/// A statement kept for reuse (SQLITE_PREPARE_PERSISTENT).
inline Stmt prepare(sqlite3* db, std::string_view sql, bool persistent = true) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    persistent ? SQLITE_PREPARE_PERSISTENT : 0, &raw, nullptr);
  Stmt stmt(raw);
  check(db, rc, "prepare \"" + std::string(sql) + "\"");
  return stmt;
}

inline void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  std::string text = message != nullptr ? message : "";
  sqlite3_free(message);
  if (rc != SQLITE_OK)
    throw Error(rc, std::string(sql) + ": " + text + " (" + sqlite3_errstr(rc) + ")");
}

/// The first column of the first row of `sql` (0 when there is no row or it is NULL).
inline std::int64_t query_int(sqlite3* db, const char* sql) {
  auto stmt = prepare(db, sql, false);
  const int rc = sqlite3_step(stmt.get());
  check(db, rc, sql, SQLITE_ROW, SQLITE_DONE);
  return rc == SQLITE_ROW ? sqlite3_column_int64(stmt.get(), 0) : 0;
}

inline std::string query_text(sqlite3* db, const char* sql) {
  auto stmt = prepare(db, sql, false);
  const int rc = sqlite3_step(stmt.get());
  check(db, rc, sql, SQLITE_ROW, SQLITE_DONE);
  if (rc != SQLITE_ROW) return {};
  const auto* text = sqlite3_column_text(stmt.get(), 0);
  return text != nullptr ? reinterpret_cast<const char*>(text) : "";
}

/// Resets a kept statement at scope exit, which also ends the read
/// transaction a SELECT holds: a forgotten reset would pin an old WAL
/// snapshot and stop checkpoints.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) noexcept : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

inline std::string_view column_text(sqlite3_stmt* stmt, int col) {
  const auto* data = sqlite3_column_text(stmt, col);
  if (data == nullptr) return {};
  return {reinterpret_cast<const char*>(data),
          static_cast<std::size_t>(sqlite3_column_bytes(stmt, col))};
}

/// Binds text without copying: the caller keeps `text` alive until the step.
inline int bind_text(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

/// An owned file descriptor (core/unique_fd.hpp).
using UniqueFd = fieldgate::UniqueFd;

inline std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace fieldgate::bridge::sqlite
