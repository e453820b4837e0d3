// The store's design notes and invariants: sqlite_store.hpp.
#include "bridge/sqlite_store.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge/store_schema.hpp"
#include "core/thread_name.hpp"

namespace fieldgate::bridge {
namespace {

constexpr int kReaderBusyTimeoutMs = 5000;
// The reader's page cache: peek() reads forward from the cursor, each row
// once, so a small cache holds what one peek and the next share.
constexpr int kReaderCacheKiB = 256;

}  // namespace

SqliteStore::SqliteStore(const config::StoreConfig& config)
    : config_(config),
      max_rows_(effective_limit(config.max_rows)),
      max_bytes_(effective_limit(config.max_bytes)),
      commit_batch_(static_cast<std::size_t>(std::max(1, config.commit_batch))),
      file_(open_store_file(config)),
      intake_(effective_limit(config.max_reading)) {
  try {
    sqlite3* db = file_.db.get();
    const auto meta = schema::read_meta(db);
    rows_ = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM readings"));
    bytes_ = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT total(size) FROM readings"));
    dead_rows_ =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM dead_letters"));
    dead_bytes_ =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT total(size) FROM dead_letters"));
    dead_lettered_ = meta.dead_lettered;
    dead_dropped_ = meta.dead_dropped;
    refused_oversize_ = meta.refused_oversize;
    suppressed_ = meta.suppressed;
    notes_ = meta.notes;
    // open_store_file() refused a file whose meta.next_seq is not above every
    // stored seq (schema::check_seqs), so this is meta.next_seq.
    const auto max_seq =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT max(seq) FROM readings"));
    next_seq_ = std::max(meta.next_seq, max_seq + 1);
    reserved_ = next_seq_;
    if (meta.next_seq_used != 0 && meta.next_seq > std::max(meta.next_seq_used, max_seq + 1)) {
      spdlog::warn(
          "store: {} was not closed cleanly (crash, kill or power cut): seqs {}..{} were "
          "reserved then and are skipped, so none is used twice",
          config_.path, std::max(meta.next_seq_used, max_seq + 1), meta.next_seq - 1);
    }
    totals_ = {meta.dropped_oldest, meta.dropped_newest, meta.dropped_expired};
    commit_.emplace(db, config_, meta, totals_, ClaimFence{&read_mu_, &claimed_upto_});
    commit_->calibrate(bytes_ + dead_bytes_);
    open_reader();
  } catch (const sqlite::Error& e) {
    throw std::runtime_error(fmt::format("store: cannot open {}: {}", config_.path, e.what()));
  }
  spdlog::info("store: {} open: {} readings ({} bytes) buffered, next seq {}, durability {}",
               config_.path, rows_, bytes_, next_seq_, config::to_string(config_.durability));
  if (dead_rows_ > 0) {
    spdlog::warn(
        "store: {} holds {} dead letters (readings that could not be sent); see `fieldgate "
        "queue ls --dead --db {}`",
        config_.path, dead_rows_, config_.path);
  }
  committer_ = std::thread([this] {
    name_this_thread("store");
    run();
  });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (committer_.joinable()) committer_.join();
}

// peek() and stats() read through their own connection: WAL lets it run
// beside the committer, and it only ever sees committed transactions.
void SqliteStore::open_reader() {
  reader_ = sqlite::open(config_.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  sqlite3_busy_timeout(reader_.get(), kReaderBusyTimeoutMs);
  sqlite::exec(reader_.get(), fmt::format("PRAGMA cache_size = -{}", kReaderCacheKiB).c_str());
  // No value larger than a reading may be is ever loaded: such a row (from an
  // older configuration, or another tool) fails its step with SQLITE_TOOBIG
  // before SQLite allocates anything for it, and is dead-lettered (peek_locked).
  sqlite3_limit(reader_.get(), SQLITE_LIMIT_LENGTH,
                static_cast<int>(std::min<std::uint64_t>(intake_.max_reading(), INT32_MAX)));
  peek_ = sqlite::prepare(
      reader_.get(),
      fmt::format("SELECT {} FROM readings WHERE seq > ?1 ORDER BY seq", schema::kReadingColumns));
  // Two subqueries: SQLite answers a lone min() or max() from the index, but
  // not both in one select.
  ts_range_ = sqlite::prepare(reader_.get(),
                              "SELECT (SELECT min(ts_ms) FROM readings), "
                              "(SELECT max(ts_ms) FROM readings)");
  next_seq_after_ = sqlite::prepare(reader_.get(),
                                    "SELECT seq FROM readings WHERE seq > ?1 ORDER BY seq LIMIT 1");
}

StoreStats SqliteStore::stats() {
  StoreStats s;
  {
    std::lock_guard lock(mu_);
    s.rows = rows_;
    s.bytes = bytes_;
    s.pending = pending_.size() + committing_;
    s.next_seq = next_seq_;
    s.accepted = accepted_;
    s.acked = acked_;
    s.commits = commits_;
    s.dropped_oldest = totals_.oldest;
    s.dropped_newest = totals_.newest;
    s.dropped_expired = totals_.expired;
    s.dead_lettered = dead_lettered_;
    s.dead_dropped = dead_dropped_;
    s.refused_oversize = refused_oversize_;
    s.suppressed = suppressed_;
    s.dead_letters = dead_rows_;
  }
  s.path = config_.path;
  if (s.rows > 0) {
    std::lock_guard lock(read_mu_);
    sqlite3_stmt* stmt = ts_range_.get();
    sqlite::ResetOnExit reset(stmt);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      s.oldest_ts_ms = sqlite3_column_int64(stmt, 0);
      s.newest_ts_ms = sqlite3_column_int64(stmt, 1);
    }
  }
  return s;
}

void SqliteStore::set_commit_listener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

std::unique_ptr<Store> open_sqlite_store(const config::StoreConfig& config) {
  auto disk = std::make_unique<SqliteStore>(config);
  if (config.mode == config::StoreMode::kSpill) return make_spill_store(std::move(disk), config);
  return disk;
}

}  // namespace fieldgate::bridge
