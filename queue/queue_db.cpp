#include "queue/queue_db.hpp"

#include <sys/file.h>
#include <sys/stat.h>

#include <array>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bridge/store.hpp"

namespace fieldgate::queue {
namespace {

constexpr std::size_t kHeaderSize = 100;
constexpr char kSqliteMagic[] = "SQLite format 3";  // 16 bytes with its NUL
constexpr std::size_t kApplicationIdOffset = 68;

bool file_exists(const std::string& path, std::uint64_t* size = nullptr) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  if (size != nullptr) *size = static_cast<std::uint64_t>(st.st_size);
  return true;
}

/// "file:" URI of a path: %, ? and # (and anything unprintable) escaped.
std::string to_uri(const std::string& path, const char* query) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) {
      uri += fmt::format("%{:02X}", c);
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?" + query;
}

/// " WHERE …" for a filter, with named parameters bound by bind_filter().
std::string where_of(const QueueFilter& f) {
  std::vector<std::string> terms;
  if (f.device) terms.emplace_back("device = :device");
  if (f.point) terms.emplace_back("point = :point");
  if (f.since_ms) terms.emplace_back("ts_ms >= :since");
  if (f.before_ms) terms.emplace_back("ts_ms < :before");
  if (terms.empty()) return {};
  return fmt::format(" WHERE {}", fmt::join(terms, " AND "));
}

void bind_filter(sqlite3_stmt* stmt, const QueueFilter& f) {
  auto index = [stmt](const char* name) { return sqlite3_bind_parameter_index(stmt, name); };
  if (f.device) sqlite::bind_text(stmt, index(":device"), *f.device);
  if (f.point) sqlite::bind_text(stmt, index(":point"), *f.point);
  if (f.since_ms) sqlite3_bind_int64(stmt, index(":since"), *f.since_ms);
  if (f.before_ms) sqlite3_bind_int64(stmt, index(":before"), *f.before_ms);
  const int limit = index(":limit");
  if (limit > 0 && f.limit) {
    sqlite3_bind_int64(stmt, limit,
                       static_cast<std::int64_t>(std::min<std::uint64_t>(
                           *f.limit, static_cast<std::uint64_t>(INT64_MAX))));
  }
}

StoredReading stored_from_row(sqlite3_stmt* stmt, bool dead) {
  StoredReading s;
  s.reading = schema::read_reading(stmt);
  if (dead) {
    s.dead = true;
    s.reason = sqlite::column_text(stmt, schema::kReasonColumn);
    s.dead_ms = sqlite3_column_int64(stmt, schema::kDeadMsColumn);
  }
  s.size = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, schema::kSizeColumn));
  s.kind = static_cast<schema::ValueKind>(sqlite3_column_int(stmt, 5));
  switch (sqlite3_column_type(stmt, 6)) {
    case SQLITE_INTEGER:
      s.storage_class = "integer";
      break;
    case SQLITE_FLOAT:
      s.storage_class = "real";
      break;
    case SQLITE_TEXT:
      s.storage_class = "text";
      break;
    case SQLITE_BLOB:
      s.storage_class = "blob";
      break;
    default:
      s.storage_class = "null";
  }
  return s;
}

/// Reads the 100-byte header without SQLite, so that nothing (no -wal, no
/// -shm, no lock) ever touches a file that is not ours.
void check_header(const std::string& path, int fd) {
  std::array<unsigned char, kHeaderSize> header{};
  const auto got = ::pread(fd, header.data(), header.size(), 0);
  if (got < 0) {
    throw QueueError(fmt::format("cannot read {}: {}", path, sqlite::errno_text(errno)));
  }
  if (got == 0) {
    throw QueueError(fmt::format("{} is empty: not a fieldgate buffer", path));
  }
  if (static_cast<std::size_t>(got) < kHeaderSize ||
      std::memcmp(header.data(), kSqliteMagic, sizeof kSqliteMagic) != 0) {
    throw QueueError(fmt::format("{} is not an SQLite database, so not a fieldgate buffer", path));
  }
  const auto* p = header.data() + kApplicationIdOffset;
  const auto app_id =
      static_cast<std::int32_t>((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]});
  if (app_id != schema::kApplicationId) {
    throw QueueError(fmt::format(
        "{} is an SQLite database but not a fieldgate buffer (application_id {:#x}, expected "
        "{:#x}); it was not opened",
        path, static_cast<std::uint32_t>(app_id),
        static_cast<std::uint32_t>(schema::kApplicationId)));
  }
}

}  // namespace

QueueDb::QueueDb(const std::string& path, Mode mode) : path_(path), mode_(mode) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) throw QueueError(fmt::format("{}: no such file", path));
    throw QueueError(fmt::format("cannot access {}: {}", path, sqlite::errno_text(err)));
  }
  if (!S_ISREG(st.st_mode)) throw QueueError(fmt::format("{} is not a regular file", path));

  sqlite::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw QueueError(fmt::format("cannot open {}: {}", path, sqlite::errno_text(errno)));
  }
  check_header(path, fd.get());

  // The store holds an exclusive flock(2) while it runs (store_file.cpp).
  const int want = mode == Mode::kPurge ? LOCK_EX : LOCK_SH;
  if (::flock(fd.get(), want | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      throw QueueError(fmt::format("cannot lock {}: {}", path, sqlite::errno_text(errno)));
    }
    writer_active_ = true;
    if (mode == Mode::kPurge) {
      throw QueueError(fmt::format(
          "{} is in use by a running fieldgate; stop it before purging (its counters would no "
          "longer match the file)",
          path));
    }
  }
  if (mode == Mode::kPurge) {
    lock_ = std::move(fd);  // keeps a gateway from starting until the purge is done
  } else {
    // Released and closed before SQLite opens the file: holding it would stop
    // a gateway from starting while someone reads.
    fd.reset();
  }
  std::uint64_t wal_size = 0;
  open_sqlite(file_exists(path + "-wal", &wal_size) && wal_size > 0);

  try {
    const auto found = schema::inspect(db_.get());
    version_ = found.version;
    switch (found.identity) {
      case schema::Identity::kFieldgate:
        return;
      case schema::Identity::kFuture:
        throw QueueError(fmt::format(
            "{} was written by a newer fieldgate (schema {}, this build reads up to {})", path,
            found.version, schema::kVersion));
      case schema::Identity::kEmpty:
      case schema::Identity::kForeign:
        throw QueueError(fmt::format("{} is not a fieldgate buffer ({})", path, found.detail));
    }
  } catch (const sqlite::Error& e) {
    throw QueueError(fmt::format(
        "{} is damaged or unreadable: {}; a gateway moves a damaged buffer aside when it starts",
        path, e.what()));
  }
}

// How a read-only open can fail on a WAL database: SQLite needs the -shm file
// (and a -wal) beside it, and creates them when they are missing. Creating
// them would leave files behind owned by whoever ran the command, and fails
// outright without write access to the directory. So:
//  - nothing writes the file and there is no WAL content: open it with
//    immutable=1, which reads the main file only and creates nothing;
//  - a gateway is running, or a crashed one left WAL content: the -shm and
//    -wal exist already; a read-only open uses them (committed data only);
//  - that open fails (no permission on -shm/-wal) and no gateway runs: fall
//    back to immutable=1 and say that commits still in the WAL are not shown.
void QueueDb::open_sqlite(bool wal_present) {
  if (mode_ == Mode::kPurge) {
    try {
      db_ = sqlite::open(path_, SQLITE_OPEN_READWRITE);
      sqlite3_busy_timeout(db_.get(), 5000);
      sqlite::query_int(db_.get(), "SELECT count(*) FROM sqlite_schema");
    } catch (const sqlite::Error& e) {
      throw QueueError(fmt::format("cannot open {} for writing: {}", path_, e.what()));
    }
    return;
  }
  const int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
  if (!writer_active_ && !wal_present) {
    db_ = sqlite::open(to_uri(path_, "immutable=1"), flags);
    return;
  }
  try {
    db_ = sqlite::open(to_uri(path_, "mode=ro"), flags);
    sqlite3_busy_timeout(db_.get(), 5000);
    // Opening is lazy: the first read is what touches -wal and -shm.
    sqlite::query_int(db_.get(), "SELECT count(*) FROM sqlite_schema");
    return;
  } catch (const sqlite::Error& e) {
    if (e.primary() == SQLITE_NOTADB || e.primary() == SQLITE_CORRUPT) {
      throw QueueError(fmt::format("{} is damaged or unreadable: {}", path_, e.what()));
    }
    if (writer_active_) {
      throw QueueError(fmt::format(
          "cannot read {} while fieldgate is writing it: {}; run this as the gateway's user (or "
          "root), who can open its -wal and -shm files",
          path_, e.what()));
    }
    notes_.push_back(fmt::format(
        "{}-wal could not be read ({}); showing the database as of its last checkpoint: commits "
        "still in the WAL are not included",
        path_, e.what()));
  }
  db_ = sqlite::open(to_uri(path_, "immutable=1"), flags);
}

QueueSummary QueueDb::summary() {
  sqlite3* db = db_.get();
  QueueSummary s;
  s.path = path_;
  s.writer_active = writer_active_;
  std::uint64_t size = 0;
  if (file_exists(path_, &size)) s.file_bytes += size;
  if (file_exists(path_ + "-wal", &size)) s.file_bytes += size;
  try {
    sqlite::exec(db, "BEGIN");  // one snapshot for every figure below
    s.schema_version = static_cast<int>(sqlite::query_int(db, "PRAGMA user_version"));
    s.rows = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM readings"));
    s.bytes = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT total(size) FROM readings"));
    s.oldest_ts_ms = sqlite::query_int(db, "SELECT min(ts_ms) FROM readings");
    s.newest_ts_ms = sqlite::query_int(db, "SELECT max(ts_ms) FROM readings");
    s.first_seq =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT min(seq) FROM readings"));
    s.last_seq = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT max(seq) FROM readings"));
    s.meta = schema::read_meta(db);
    if (has_dead()) {
      s.dead_letters =
          static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM dead_letters"));
      s.dead_bytes =
          static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT total(size) FROM dead_letters"));
    }
    s.seq_problem = schema::check_seqs(db, version_, bridge::kMaxOpeningSeq);
    // meta.next_seq is a reservation while a gateway runs (or after it did
    // not stop cleanly); next_seq_used is the true next, when recorded.
    const auto resume = std::max(s.meta.next_seq, s.last_seq + 1);
    s.next_seq =
        s.meta.next_seq_used != 0 ? std::max(s.meta.next_seq_used, s.last_seq + 1) : resume;
    if (resume > s.next_seq) s.reserved_upto = resume - 1;
    for (const bool by_point : {false, true}) {
      const auto sql = fmt::format(
          "SELECT device, {}, count(*), total(size), min(ts_ms), max(ts_ms) FROM readings "
          "GROUP BY device{} ORDER BY device{}",
          by_point ? "point" : "''", by_point ? ", point" : "", by_point ? ", point" : "");
      auto stmt = sqlite::prepare(db, sql, false);
      int rc = SQLITE_OK;
      while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        GroupCount g;
        g.device = sqlite::column_text(stmt.get(), 0);
        g.point = sqlite::column_text(stmt.get(), 1);
        g.rows = static_cast<std::uint64_t>(sqlite3_column_int64(stmt.get(), 2));
        g.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(stmt.get(), 3));
        g.oldest_ts_ms = sqlite3_column_int64(stmt.get(), 4);
        g.newest_ts_ms = sqlite3_column_int64(stmt.get(), 5);
        (by_point ? s.points : s.devices).push_back(std::move(g));
      }
      sqlite::check(db, rc, "group counts", SQLITE_DONE);
    }
    sqlite::exec(db, "COMMIT");
  } catch (const sqlite::Error& e) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw QueueError(fmt::format("reading {} failed: {}", path_, e.what()));
  }
  return s;
}

const char* QueueDb::table_of(const QueueFilter& filter) const {
  if (!filter.dead) return "readings";
  if (!has_dead()) {
    throw QueueError(fmt::format(
        "{} has no dead-letter table (schema {}: written by an older fieldgate, which had none)",
        path_, version_));
  }
  return "dead_letters";
}

std::uint64_t QueueDb::for_each(const QueueFilter& filter,
                                const std::function<bool(const StoredReading&)>& visit) {
  auto sql =
      fmt::format("SELECT {}{} FROM {}{} ORDER BY seq", schema::kReadingColumns,
                  filter.dead ? ", reason, dead_ms" : "", table_of(filter), where_of(filter));
  if (filter.limit) sql += " LIMIT :limit";
  std::uint64_t visited = 0;
  try {
    auto stmt = sqlite::prepare(db_.get(), sql, false);
    bind_filter(stmt.get(), filter);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      ++visited;
      if (!visit(stored_from_row(stmt.get(), filter.dead))) return visited;
    }
    sqlite::check(db_.get(), rc, "read readings", SQLITE_DONE);
  } catch (const sqlite::Error& e) {
    throw QueueError(fmt::format("reading {} failed: {}", path_, e.what()));
  }
  return visited;
}

std::uint64_t QueueDb::count(const QueueFilter& filter) {
  try {
    auto stmt = sqlite::prepare(
        db_.get(), fmt::format("SELECT count(*) FROM {}{}", table_of(filter), where_of(filter)),
        false);
    bind_filter(stmt.get(), filter);
    sqlite::check(db_.get(), sqlite3_step(stmt.get()), "count", SQLITE_ROW);
    return static_cast<std::uint64_t>(sqlite3_column_int64(stmt.get(), 0));
  } catch (const sqlite::Error& e) {
    throw QueueError(fmt::format("reading {} failed: {}", path_, e.what()));
  }
}

std::optional<StoredReading> QueueDb::find(std::uint64_t seq) {
  try {
    for (const bool dead : {false, true}) {
      if (dead && !has_dead()) break;
      auto stmt = sqlite::prepare(
          db_.get(),
          fmt::format("SELECT {}{} FROM {} WHERE seq = ?1", schema::kReadingColumns,
                      dead ? ", reason, dead_ms" : "", dead ? "dead_letters" : "readings"),
          false);
      sqlite3_bind_int64(stmt.get(), 1, static_cast<std::int64_t>(seq));
      const int rc = sqlite3_step(stmt.get());
      sqlite::check(db_.get(), rc, "find", SQLITE_ROW, SQLITE_DONE);
      if (rc == SQLITE_ROW) return stored_from_row(stmt.get(), dead);
    }
    return std::nullopt;
  } catch (const sqlite::Error& e) {
    throw QueueError(fmt::format("reading {} failed: {}", path_, e.what()));
  }
}

std::uint64_t QueueDb::purge(const QueueFilter& filter, bool all) {
  if (mode_ != Mode::kPurge) throw std::logic_error("QueueDb::purge on a read-only open");
  if (filter.matches_everything() && !all) {
    throw QueueError("purge needs a filter (--device, --point, --before) or --all");
  }
  sqlite3* db = db_.get();
  const char* table = table_of(filter);
  try {
    sqlite::exec(db, "BEGIN IMMEDIATE");
    auto stmt =
        sqlite::prepare(db, fmt::format("DELETE FROM {}{}", table, where_of(filter)), false);
    bind_filter(stmt.get(), filter);
    sqlite::check(db, sqlite3_step(stmt.get()), "purge", SQLITE_DONE);
    const auto deleted = static_cast<std::uint64_t>(sqlite3_changes64(db));
    auto meta = sqlite::prepare(db,
                                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) "
                                "DO UPDATE SET value = value + excluded.value",
                                false);
    sqlite3_bind_text(meta.get(), 1, schema::kMetaPurged, -1, SQLITE_STATIC);
    sqlite3_bind_int64(meta.get(), 2, static_cast<std::int64_t>(deleted));
    sqlite::check(db, sqlite3_step(meta.get()), "count purged", SQLITE_DONE);
    sqlite::exec(db, "COMMIT");
    return deleted;
  } catch (const sqlite::Error& e) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw QueueError(fmt::format("purging {} failed: {}", path_, e.what()));
  }
}

}  // namespace fieldgate::queue
