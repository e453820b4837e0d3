// QueueDb (the offline reader behind `fieldgate queue`) on files written by
// the store, and the time arguments of the queue command. The store is always
// closed before QueueDb opens the file (see queue_db.hpp).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bridge/sqlite_handles.hpp"
#include "queue/queue_command.hpp"
#include "queue/queue_db.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

using queue::QueueDb;
using queue::QueueError;
using queue::QueueFilter;
using queue::StoredReading;

constexpr std::int64_t kT0 = 1'795'000'000'000;  // 2026-11-18T…Z

/// Two devices, three points, ts kT0 + i seconds; seq 1 acked and deleted.
std::string make_buffer(const TempDir& dir) {
  const auto path = dir.file("buffer.db");
  auto store = open_sqlite_store(manual_config(path));
  Batch batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(make_reading(i < 6 ? "meter" : "pump", i % 2 == 0 ? "voltage" : "current",
                                 static_cast<double>(i) + 0.5, kT0 + i * 1000));
  }
  batch.push_back(make_reading("pump", "running", true, kT0 + 10'000));
  store->append(std::move(batch));
  store->flush();
  const std::vector<std::uint64_t> first{1};
  store->ack(first);
  store->flush();
  return path;
}

TEST(QueueDbTest, SummaryCountsRowsGroupsSeqsAndTotals) {
  TempDir dir;
  QueueDb db(make_buffer(dir), QueueDb::Mode::kRead);
  EXPECT_FALSE(db.writer_active());
  const auto s = db.summary();
  EXPECT_EQ(s.rows, 10u);
  EXPECT_EQ(s.first_seq, 2u);
  EXPECT_EQ(s.last_seq, 11u);
  EXPECT_EQ(s.next_seq, 12u);
  EXPECT_EQ(s.oldest_ts_ms, kT0 + 1000);
  EXPECT_EQ(s.newest_ts_ms, kT0 + 10'000);
  EXPECT_EQ(s.schema_version, schema::kVersion);
  ASSERT_EQ(s.devices.size(), 2u);
  EXPECT_EQ(s.devices[0].device, "meter");
  EXPECT_EQ(s.devices[0].rows, 5u);
  EXPECT_EQ(s.devices[1].rows, 5u);
  ASSERT_EQ(s.points.size(), 5u);  // meter/current, meter/voltage, pump/current, running, voltage
  EXPECT_EQ(s.points[2].device, "pump");
  EXPECT_EQ(s.points[2].point, "current");
  EXPECT_EQ(s.points[2].rows, 2u);
  EXPECT_GT(s.bytes, 0u);
}

// What publish policies held back never reaches the readings table; the
// store keeps the count per device in meta, across restarts, for `queue stats`.
TEST(QueueDbTest, SuppressedCountsSurviveARestartAndShowInStats) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  for (const auto mode : {config::StoreMode::kDisk, config::StoreMode::kSpill}) {
    auto config = manual_config(path);
    config.mode = mode;
    auto store = open_sqlite_store(config);
    store->count_suppressed("meter", 5);
    store->count_suppressed("pump", 2);
    store->count_suppressed("pump", 0);
    store->flush();
  }
  {
    auto store = open_sqlite_store(manual_config(path));
    const auto counts = store->stats().suppressed;
    EXPECT_EQ(counts,
              (std::map<std::string, std::uint64_t, std::less<>>{{"meter", 10}, {"pump", 4}}));
  }
  QueueDb db(path, QueueDb::Mode::kRead);
  EXPECT_EQ(db.summary().meta.suppressed,
            (std::map<std::string, std::uint64_t, std::less<>>{{"meter", 10}, {"pump", 4}}));

  queue::QueueOptions options;
  options.action = "stats";
  options.db = path;
  std::ostringstream out, err;
  ASSERT_EQ(queue::run_queue(options, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("suppressed 14 readings held back before the buffer by policy "
                           "(meter: 10, pump: 4)"),
            std::string::npos)
      << out.str();
  options.json = true;
  std::ostringstream json;
  ASSERT_EQ(queue::run_queue(options, json, err), 0) << err.str();
  const auto j = nlohmann::json::parse(json.str());
  EXPECT_EQ(j["suppressed"], (nlohmann::json{{"meter", 10}, {"pump", 4}}));
}

// A buffer is input like any other: a meta table with more suppressed keys
// than any configuration has, and device names that are not UTF-8, are read
// within the bound and printed without breaking the output.
TEST(QueueDbTest, HostileSuppressedKeysAreBoundedAndPrintable) {
  TempDir dir;
  const auto path = make_buffer(dir);
  {
    auto db = sqlite::open(path, SQLITE_OPEN_READWRITE);
    sqlite::exec(db.get(),
                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
                 "INSERT INTO meta(key, value) SELECT 'suppressed.d' || i, i FROM n; "
                 "INSERT INTO meta(key, value) VALUES ('suppressed.' || x'1b5b326aff', 7), "
                 "('suppressed.', 9)");
  }
  QueueDb db(path, QueueDb::Mode::kRead);
  EXPECT_EQ(db.summary().meta.suppressed.size(), schema::kMaxSuppressedDevices);
  queue::QueueOptions options;
  options.action = "stats";
  options.db = path;
  std::ostringstream out, err;
  ASSERT_EQ(queue::run_queue(options, out, err), 0) << err.str();
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos) << "a control byte reached the terminal";
  options.json = true;
  std::ostringstream json;
  ASSERT_EQ(queue::run_queue(options, json, err), 0) << err.str();
  EXPECT_TRUE(nlohmann::json::accept(json.str()));
}

TEST(QueueDbTest, FiltersSelectByDevicePointAndTime) {
  TempDir dir;
  QueueDb db(make_buffer(dir), QueueDb::Mode::kRead);
  QueueFilter f;
  f.device = "pump";
  EXPECT_EQ(db.count(f), 5u);
  f.point = "voltage";
  EXPECT_EQ(db.count(f), 2u);
  QueueFilter t;
  t.since_ms = kT0 + 3000;
  t.before_ms = kT0 + 6000;
  std::vector<std::uint64_t> seqs;
  db.for_each(t, [&](const StoredReading& s) {
    seqs.push_back(s.reading.seq);
    return true;
  });
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{4, 5, 6}));
  QueueFilter limited;
  limited.limit = 2;
  seqs.clear();
  db.for_each(limited, [&](const StoredReading& s) {
    seqs.push_back(s.reading.seq);
    return true;
  });
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{2, 3}));
}

TEST(QueueDbTest, FindReturnsEverythingAboutOneReading) {
  TempDir dir;
  QueueDb db(make_buffer(dir), QueueDb::Mode::kRead);
  EXPECT_FALSE(db.find(1).has_value()) << "acked and deleted";
  const auto r = db.find(11);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->reading.point, "running");
  EXPECT_EQ(std::get<bool>(r->reading.value), true);
  EXPECT_EQ(r->kind, schema::ValueKind::kBool);
  EXPECT_EQ(r->storage_class, "integer");
  EXPECT_EQ(r->size, schema::accounted_size(r->reading));
}

TEST(QueueDbTest, PurgeDeletesTheMatchingRowsAndCountsThem) {
  TempDir dir;
  const auto path = make_buffer(dir);
  {
    QueueDb db(path, QueueDb::Mode::kPurge);
    QueueFilter f;
    EXPECT_THROW(db.purge(f, false), QueueError) << "an empty filter needs --all";
    f.device = "meter";
    EXPECT_EQ(db.purge(f, false), 5u);
    QueueFilter old;
    old.before_ms = kT0 + 8000;
    EXPECT_EQ(db.purge(old, false), 2u);  // pump seqs 7, 8
  }
  {
    auto store = open_sqlite_store(manual_config(path));  // the store agrees
    EXPECT_EQ(store->stats().rows, 3u);
    EXPECT_EQ(store->stats().next_seq, 12u);
  }
  QueueDb db(path, QueueDb::Mode::kRead);
  EXPECT_EQ(db.summary().meta.purged, 7u);
}

TEST(QueueDbTest, RefusesWhatIsNotAFieldgateBufferWithoutTouchingIt) {
  TempDir dir;
  const auto foreign = dir.file("other.db");
  {
    auto db = sqlite::open(foreign, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite::exec(db.get(),
                 "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  }
  const auto before = read_bytes(foreign);
  const auto garbage = dir.file("garbage.db");
  write_bytes(garbage, std::string(5000, 'g'));
  const auto empty = dir.file("empty.db");
  write_bytes(empty, "");
  const std::vector<std::pair<std::string, std::string>> cases{
      {foreign, "not a fieldgate buffer"},
      {garbage, "not an SQLite database"},
      {empty, "is empty"},
      {dir.file("missing.db"), "no such file"},
      {dir.path().string(), "not a regular file"},
  };
  for (const auto& [path, message] : cases) {
    for (const auto mode : {QueueDb::Mode::kRead, QueueDb::Mode::kPurge}) {
      try {
        QueueDb db(path, mode);
        ADD_FAILURE() << "opened " << path;
      } catch (const QueueError& e) {
        EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_EQ(read_bytes(foreign), before);
  EXPECT_FALSE(std::filesystem::exists(foreign + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(foreign + "-shm"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.db")));
}

TEST(QueueDbTest, ReadingAStoppedBufferCreatesNoFiles) {
  TempDir dir;
  const auto path = make_buffer(dir);
  ASSERT_FALSE(std::filesystem::exists(path + "-wal"));
  {
    QueueDb db(path, QueueDb::Mode::kRead);
    EXPECT_EQ(db.summary().rows, 10u);
    EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
    EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
  }
}

TEST(QueueTimeArgTest, ReadsIsoTimesAndDurations) {
  std::string error;
  const std::int64_t now = 1'795'610'298'543;
  EXPECT_EQ(queue::parse_time_arg("2026-11-25T12:38:18.543Z", now, error), 1'795'610'298'543);
  EXPECT_EQ(queue::parse_time_arg("2026-11-25T12:38:18Z", now, error), 1'795'610'298'000);
  EXPECT_EQ(queue::parse_time_arg("2026-11-25T12:38:18", now, error), 1'795'610'298'000);
  EXPECT_EQ(queue::parse_time_arg("2026-11-25 12:38:18.5", now, error), 1'795'610'298'500);
  EXPECT_EQ(queue::parse_time_arg("2026-11-25T14:38:18+02:00", now, error), 1'795'610'298'000);
  EXPECT_EQ(queue::parse_time_arg("2026-11-25T12:38", now, error), 1'795'610'280'000);
  EXPECT_EQ(queue::parse_time_arg("2026-11-25", now, error), 1'795'564'800'000);
  EXPECT_EQ(queue::parse_time_arg("2h", now, error), now - 7'200'000);
  EXPECT_EQ(queue::parse_time_arg("90s", now, error), now - 90'000);
  for (const char* bad :
       {"yesterday", "2026-13-01", "2026-11-25T12:38:18Zjunk", "2026-11-25T", "-2h", ""}) {
    error.clear();
    EXPECT_FALSE(queue::parse_time_arg(bad, now, error).has_value()) << bad;
    EXPECT_NE(error.find("expected a time"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace fieldgate::bridge::testing
