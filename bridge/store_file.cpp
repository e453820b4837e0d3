#include "bridge/store_file.hpp"

#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge/store.hpp"
#include "bridge/store_commit.hpp"
#include "bridge/store_schema.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// `fieldgate queue` holds a shared flock for a moment while it looks for a
// running gateway (queue_db.cpp); a gateway that starts in that moment waits
// for it, up to this long, instead of refusing to start. A second gateway or
// a purge holds the lock for longer than that.
constexpr std::chrono::milliseconds kLockWait{2000};
constexpr std::chrono::milliseconds kLockPoll{20};
// SQLite's default: a checkpoint every 1000 WAL pages (about 4 MB) unless
// max_bytes asks for less.
constexpr std::uint64_t kAutoCheckpointPages = 1000;
// The writer's page cache (SQLite's default is 2,000 KiB per connection). A
// group commit appends at the right edge of the seq and ts_ms b-trees and
// deletes at the left: a few hundred pages; the rest of the file is read
// from the OS's page cache when a bound or an expiry needs it.
constexpr int kWriterCacheKiB = 512;

// The buffer may grow past 2 GiB; on a 32-bit target only 64-bit offsets
// open and stat it (CMakeLists.txt sets _FILE_OFFSET_BITS for every file).
static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

/// Creates the file if needed with mode 0600 before SQLite sees it: SQLite
/// creates -wal and -shm with the mode of the database file, so all three stay
/// private. An existing file keeps its mode. Then takes the single-writer lock.
sqlite::UniqueFd create_and_lock(const std::string& path) {
  sqlite::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    const int err = errno;
    throw std::runtime_error(
        fmt::format("store: cannot create or open {}: {}", path, sqlite::errno_text(err)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw std::runtime_error(fmt::format("store: {} is not a regular file", path));
  }
  // flock(2) is independent of SQLite's fcntl locks: it only keeps a second
  // gateway (which would hand out the same seqs) and `queue purge` away.
  const auto deadline = std::chrono::steady_clock::now() + kLockWait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) {
      throw std::runtime_error(
          fmt::format("store: cannot lock {}: {}", path, sqlite::errno_text(err)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(fmt::format(
          "store: {} is in use by another fieldgate process; two gateways cannot share one "
          "buffer",
          path));
    }
    std::this_thread::sleep_for(kLockPoll);
  }
  return fd;
}

/// Why the file must be moved aside, or nullopt when it is usable (and now
/// migrated and in WAL mode). Throws for problems a fresh file would not fix.
std::optional<std::string> prepare(sqlite3* db, const config::StoreConfig& config) {
  try {
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    const auto found = schema::inspect(db);
    switch (found.identity) {
      case schema::Identity::kForeign:
        return "not a fieldgate buffer (" + found.detail + ")";
      case schema::Identity::kFuture:
        return fmt::format("written by a newer fieldgate (schema {}, this build reads up to {})",
                           found.version, schema::kVersion);
      case schema::Identity::kEmpty:
      case schema::Identity::kFieldgate:
        break;
    }
    if (found.identity == schema::Identity::kFieldgate) {
      const auto check = sqlite::query_text(db, "PRAGMA quick_check");
      if (check != "ok") return "PRAGMA quick_check failed: " + check;
      // Before anything is written (the migration too): a buffer whose rows
      // are fine but whose seq bookkeeping is not is left exactly as it is.
      const auto seqs = schema::check_seqs(db, found.version, kMaxOpeningSeq);
      if (!seqs.empty()) {
        throw StoreDamagedError(fmt::format(
            "store: {}: {}. The file is left untouched and the gateway does not start: see "
            "\"Damaged seq bookkeeping\" in docs/QUEUE.md for how to repair it",
            config.path, seqs));
      }
    }
    // A fresh file is initialised before WAL is switched on, so its header
    // (application_id) is in the main file at once, where `fieldgate queue`
    // reads it without opening the database.
    schema::migrate(db, found.version);
    const auto mode = sqlite::query_text(db, "PRAGMA journal_mode = WAL");
    if (mode != "wal") {
      throw std::runtime_error("store: cannot switch " +
                               std::string(sqlite3_db_filename(db, "main")) +
                               " to WAL mode (journal_mode is " + mode + ")");
    }
    sqlite::exec(db, config.durability == config::Durability::kFull
                         ? "PRAGMA synchronous = FULL"
                         : "PRAGMA synchronous = NORMAL");
    // The WAL's share of max_bytes (store_commit.hpp): truncated back to it
    // after a checkpoint, and checkpointed at half of it, so that the
    // database and its WAL together stay within max_bytes.
    const auto wal_limit = wal_allowance(effective_limit(config.max_bytes));
    const auto page_size = static_cast<std::uint64_t>(sqlite::query_int(db, "PRAGMA page_size"));
    const auto checkpoint_pages = std::clamp<std::uint64_t>(
        wal_limit / 2 / std::max<std::uint64_t>(page_size, 512), 16, kAutoCheckpointPages);
    sqlite::exec(db, fmt::format("PRAGMA cache_size = -{}", kWriterCacheKiB).c_str());
    sqlite::exec(db, fmt::format("PRAGMA journal_size_limit = {}", wal_limit).c_str());
    sqlite::exec(db, fmt::format("PRAGMA wal_autocheckpoint = {}", checkpoint_pages).c_str());
    return std::nullopt;
  } catch (const sqlite::Error& e) {
    if (e.primary() == SQLITE_NOTADB || e.primary() == SQLITE_CORRUPT) return e.what();
    throw std::runtime_error(fmt::format("store: cannot open {}: {}", config.path, e.what()));
  }
}

}  // namespace

std::string move_aside(const std::string& path, std::chrono::system_clock::time_point now) {
  const auto stamp = iso8601_basic(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  auto target = path + ".corrupt-" + stamp;
  // Two failures within one second must not overwrite the first copy.
  for (int n = 2; exists(target) || exists(target + "-wal"); ++n) {
    target = path + ".corrupt-" + stamp + "-" + std::to_string(n);
  }
  if (::rename(path.c_str(), target.c_str()) != 0) {
    const int err = errno;
    throw std::runtime_error(fmt::format("store: cannot move {} aside to {}: {}", path, target,
                                         sqlite::errno_text(err)));
  }
  // Left behind, an old -wal could be replayed into the fresh database.
  for (const char* suffix : {"-wal", "-shm"}) {
    const auto from = path + suffix;
    if (exists(from) && ::rename(from.c_str(), (target + suffix).c_str()) != 0) {
      const int err = errno;
      spdlog::error("store: cannot move {} aside: {}; removing it", from, sqlite::errno_text(err));
      ::unlink(from.c_str());
    }
  }
  return target;
}

StoreFile open_store_file(const config::StoreConfig& config) {
  const auto& path = config.path;
  std::string first_problem;
  for (int attempt = 0; attempt < 2; ++attempt) {
    StoreFile file;
    file.lock = create_and_lock(path);
    try {
      // No SQLITE_OPEN_CREATE: create_and_lock() made the file, with its mode.
      file.db = sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
    } catch (const sqlite::Error& e) {
      throw std::runtime_error(fmt::format("store: {}", e.what()));
    }
    const auto problem = prepare(file.db.get(), config);
    if (!problem) {
      if (attempt > 0) {
        spdlog::warn("store: started with a fresh, empty buffer at {}", path);
      }
      return file;
    }
    if (attempt > 0) {
      throw std::runtime_error(
          fmt::format("store: a fresh database at {} is unusable too ({}); first problem: {}", path,
                      *problem, first_problem));
    }
    first_problem = *problem;
    file.db.reset();  // SQLite lets go of the file before it is renamed
    const auto moved = move_aside(path, std::chrono::system_clock::now());
    spdlog::error(
        "store: DATABASE {} IS UNUSABLE: {}. It was moved aside to {} (with its -wal/-shm) and a "
        "fresh, empty buffer is created in its place; readings in the old file were NOT sent",
        path, *problem, moved);
    // file.lock (the old inode) is released when `file` goes out of scope.
  }
  throw std::logic_error("unreachable");
}

}  // namespace fieldgate::bridge
