// Opening the store's database file: create it private (0600), take the
// single-writer lock, check that it is a healthy fieldgate buffer, move it
// aside when it is not, and bring the schema up to date. Start-up only; the
// steady state is SqliteStore (sqlite_store.hpp).
#pragma once

#include <chrono>
#include <string>

#include "bridge/sqlite_handles.hpp"
#include "config/config.hpp"

namespace fieldgate::bridge {

/// The writer connection of an open store and the descriptor that holds the
/// exclusive flock(2) on the database file for as long as the store lives.
/// Declared in this order so the connection closes before the lock is
/// released (closing any other descriptor of the file while SQLite holds its
/// POSIX locks would drop them).
struct StoreFile {
  sqlite::UniqueFd lock;
  sqlite::Db db;
};

/// Opens `config.path` for writing, in WAL mode with the configured
/// synchronous level. A file that SQLite cannot read (SQLITE_NOTADB,
/// SQLITE_CORRUPT), that fails PRAGMA quick_check, or that is not a fieldgate
/// buffer this build understands is renamed by move_aside() and replaced by a
/// fresh database. Throws std::runtime_error (naming the path and the reason)
/// when no usable database can be opened: directory missing, no permission,
/// another process holding the lock, a fresh database failing too.
[[nodiscard]] StoreFile open_store_file(const config::StoreConfig& config);

/// Renames `path` and its -wal and -shm files to
/// "<path>.corrupt-YYYYMMDDTHHMMSSZ" (plus "-wal"/"-shm", so SQLite still finds
/// the WAL of the moved copy). Returns the new name of the database file.
/// Throws std::runtime_error if the database file cannot be renamed.
std::string move_aside(const std::string& path, std::chrono::system_clock::time_point now);

}  // namespace fieldgate::bridge
