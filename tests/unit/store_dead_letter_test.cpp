// Hostile rows and hostile readings in the buffer (issue 14: B7, C8, C11):
// text that is not UTF-8, readings larger than max_payload, rows no broker
// takes (dead letters), and damaged seq bookkeeping. Real SQLite files.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fmt/format.h>

#include "bridge/spill_store.hpp"
#include "bridge/sqlite_handles.hpp"
#include "bridge/store_commit.hpp"
#include "bridge/store_schema.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

using namespace std::chrono_literals;

void exec_on(const std::string& path, const std::string& sql) {
  auto db = sqlite::open(path, SQLITE_OPEN_READWRITE);
  sqlite::exec(db.get(), sql.c_str());
}

std::int64_t int_of(const std::string& path, const std::string& sql) {
  auto db = sqlite::open(path, SQLITE_OPEN_READONLY);
  return sqlite::query_int(db.get(), sql.c_str());
}

std::string text_of(const std::string& path, const std::string& sql) {
  auto db = sqlite::open(path, SQLITE_OPEN_READONLY);
  return sqlite::query_text(db.get(), sql.c_str());
}

/// A buffer with readings 1..n, closed cleanly.
std::string make_buffer(const TempDir& dir, int n, const std::string& name = "buffer.db") {
  const auto path = dir.file(name);
  auto store = open_sqlite_store(manual_config(path));
  store->append(make_batch(n));
  store->flush();
  return path;
}

/// Inserts a row as another tool (or an older fieldgate) could have: no
/// intake, any bytes. `value_sql` is an SQL expression.
void insert_row(const std::string& path, std::uint64_t seq, const std::string& device,
                const std::string& value_sql, int kind = 4) {
  exec_on(path, fmt::format("INSERT INTO readings VALUES ({}, {}, 'p', {}, 0, {}, {}, '', '', 40)",
                            seq, device, now_ms(), kind, value_sql));
}

TEST(StoreIntakeTest, TextThatIsNotUtf8BecomesReplacementCharactersWhenAppended) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  Reading latin1 = make_reading("m\xE9ter", "temp",
                                std::string("21 \xB0"
                                            "C"));
  latin1.unit =
      "\xB0"
      "C";
  latin1.error = "caf\xE9";
  Batch batch{latin1};
  store->append(std::move(batch));
  store->flush();
  const auto rows = store->peek(0, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].device, "m\xEF\xBF\xBDter");
  EXPECT_EQ(std::get<std::string>(rows[0].value),
            "21 \xEF\xBF\xBD"
            "C");
  EXPECT_EQ(rows[0].unit,
            "\xEF\xBF\xBD"
            "C");
  EXPECT_EQ(rows[0].error, "caf\xEF\xBF\xBD");
  EXPECT_TRUE(is_valid_utf8(rows[0].device) && is_valid_utf8(std::get<std::string>(rows[0].value)));
}

TEST(StoreIntakeTest, AReadingLargerThanMaxReadingIsRefusedAndCountedAcrossReopen) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_reading = 64 * 1024;
  {
    auto store = open_sqlite_store(config);
    Batch batch = make_batch(2);
    batch.insert(batch.begin() + 1, make_reading("meter", "blob", std::string(100'000, 'x')));
    store->append(std::move(batch));
    store->flush();
    const auto rows = store->peek(0, 10);
    ASSERT_EQ(rows.size(), 2u) << "the refused reading takes no seq and blocks nothing";
    EXPECT_EQ(seqs_of(rows), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(store->stats().refused_oversize, 1u);
  }
  auto store = open_sqlite_store(config);
  EXPECT_EQ(store->stats().refused_oversize, 1u);
  EXPECT_EQ(int_of(config.path, "SELECT value FROM meta WHERE key = 'refused_oversize'"), 1);
}

TEST(StoreIntakeTest, SpillModeTakesReadingsThroughTheSameIntake) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.mode = config::StoreMode::kSpill;
  config.max_reading = 64 * 1024;
  auto store = open_sqlite_store(config);
  Batch batch{make_reading("m\xE9ter", "p", std::string(100'000, 'x')),
              make_reading("m\xE9ter", "p", std::string("\xB0"))};
  store->append(std::move(batch));
  const auto rows = store->peek(0, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].device, "m\xEF\xBF\xBDter");
  EXPECT_EQ(store->stats().refused_oversize, 1u);
}

TEST(StoreDeadLetterTest, ADeadLetterIsSkippedAtOnceMovedByTheNextCommitAndCounted) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    auto store = open_sqlite_store(manual_config(path));
    store->append(make_batch(5));
    store->flush();
    const std::vector<DeadLetter> letters{{2, "the topic is not valid UTF-8"},
                                          {4, "the broker refused it"}};
    store->dead_letter(letters);
    EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{1, 3, 5}));
    store->flush();
    EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{1, 3, 5}));
    const auto s = store->stats();
    EXPECT_EQ(s.rows, 3u);
    EXPECT_EQ(s.dead_letters, 2u);
    EXPECT_EQ(s.dead_lettered, 2u);
  }
  EXPECT_EQ(text_of(path, "SELECT reason FROM dead_letters WHERE seq = 4"),
            "the broker refused it");
  EXPECT_EQ(int_of(path, "SELECT value FROM dead_letters WHERE seq = 2"), 1)
      << "the whole row moves, value included";
  EXPECT_EQ(int_of(path, "SELECT value FROM meta WHERE key = 'dead_lettered'"), 2);
  auto store = open_sqlite_store(manual_config(path));
  EXPECT_EQ(store->stats().dead_letters, 2u);
  EXPECT_EQ(store->stats().dead_lettered, 2u);
  EXPECT_EQ(store->stats().next_seq, 6u) << "dead letters keep their seqs taken";
}

TEST(StoreDeadLetterTest, AReadingDeadLetteredInSpillMemoryReachesTheTableWhole) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.mode = config::StoreMode::kSpill;
  config.spill_after = 1h;
  {
    auto store = open_sqlite_store(config);
    store->append(make_batch(3));
    const std::vector<DeadLetter> letters{{2, "refused"}};
    store->dead_letter(letters);
    EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{1, 3}));
    store->flush();
    EXPECT_EQ(store->stats().dead_letters, 1u);
  }
  EXPECT_EQ(int_of(config.path, "SELECT count(*) FROM dead_letters WHERE seq = 2"), 1);
  EXPECT_EQ(text_of(config.path, "SELECT point FROM dead_letters WHERE seq = 2"), "p1");
  EXPECT_EQ(int_of(config.path, "SELECT count(*) FROM readings"), 2) << "1 and 3, spilled at stop";
}

TEST(StoreDeadLetterTest, ARowLargerThanMaxReadingIsDeadLetteredInPartAndBlocksNothing) {
  TempDir dir;
  const auto path = make_buffer(dir, 3);
  // 8 MB in seq 10, between the readings: written by an older configuration.
  insert_row(path, 10, "'meter'", "replace(hex(zeroblob(4000000)), '0', 'x') || 'tail'");
  exec_on(path, "UPDATE readings SET seq = 20 WHERE seq = 3");
  exec_on(path, "UPDATE meta SET value = 21 WHERE key IN ('next_seq', 'next_seq_used')");
  auto config = manual_config(path);
  config.max_reading = 256 * 1024;
  auto store = open_sqlite_store(config);
  EXPECT_EQ(seqs_of(store->claim(0, 10)), (std::vector<std::uint64_t>{1, 2, 20}));
  EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{1, 2, 20}))
      << "skipped again until the commit moved it";
  store->flush();
  EXPECT_EQ(store->stats().dead_letters, 1u);
  EXPECT_EQ(store->stats().rows, 3u);
  EXPECT_EQ(int_of(path, "SELECT length(CAST(value AS BLOB)) FROM dead_letters WHERE seq = 10"),
            static_cast<std::int64_t>(kDeadLetterKeep));
  const auto reason = text_of(path, "SELECT reason FROM dead_letters WHERE seq = 10");
  EXPECT_NE(reason.find("max_payload"), std::string::npos) << reason;
  EXPECT_NE(reason.find("value is 8000004 bytes"), std::string::npos) << reason;
}

TEST(StoreDeadLetterTest, TheDeadLetterTableIsBoundedAndWhatItDropsIsCounted) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  const int n = static_cast<int>(kMaxDeadLetters) + 5;
  store->append(make_batch(n));
  store->flush();
  std::vector<DeadLetter> letters;
  for (int i = 1; i <= n; ++i) letters.push_back({static_cast<std::uint64_t>(i), "refused"});
  store->dead_letter(letters);
  store->flush();
  const auto s = store->stats();
  EXPECT_EQ(s.dead_letters, kMaxDeadLetters);
  EXPECT_EQ(s.dead_dropped, 5u);
  EXPECT_EQ(s.dead_lettered, static_cast<std::uint64_t>(n));
  EXPECT_EQ(s.rows, 0u);
}

TEST(StoreSchemaTest, AVersionOneBufferIsMigratedWithEveryRowKept) {
  TempDir dir;
  const auto path = dir.file("v1.db");
  {
    auto db = sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    // Exactly what version 1 created (store_schema.cpp, migrate_to_v1).
    sqlite::exec(db.get(),
                 "CREATE TABLE readings (seq INTEGER PRIMARY KEY, device TEXT NOT NULL, point "
                 "TEXT NOT NULL, ts_ms INTEGER NOT NULL, quality INTEGER NOT NULL, value_kind "
                 "INTEGER NOT NULL, value, unit TEXT NOT NULL, error TEXT NOT NULL, size "
                 "INTEGER NOT NULL);"
                 "CREATE INDEX readings_by_ts ON readings(ts_ms);"
                 "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
                 "INSERT INTO meta VALUES ('next_seq', 8), ('dropped_oldest', 3), "
                 "('dropped_newest', 0), ('dropped_expired', 0), ('purged', 0), "
                 "('created_ms', 1);"
                 "PRAGMA application_id = 1179078978; PRAGMA user_version = 1;");
    for (int seq = 5; seq <= 7; ++seq) {
      sqlite::exec(db.get(), fmt::format("INSERT INTO readings VALUES ({}, 'meter', 'p', {}, 0, "
                                         "2, {}, 'V', '', 50)",
                                         seq, now_ms(), seq * 10)
                                 .c_str());
    }
  }
  auto store = open_sqlite_store(manual_config(path));
  const auto rows = store->peek(0, 10);
  ASSERT_EQ(seqs_of(rows), (std::vector<std::uint64_t>{5, 6, 7}));
  EXPECT_EQ(std::get<std::int64_t>(rows[2].value), 70);
  EXPECT_EQ(store->stats().dropped_oldest, 3u);
  EXPECT_EQ(store->stats().next_seq, 8u);
  EXPECT_EQ(int_of(path, "PRAGMA user_version"), schema::kVersion);
  EXPECT_EQ(int_of(path, "SELECT count(*) FROM dead_letters"), 0);
  const std::vector<DeadLetter> letters{{6, "refused"}};
  store->dead_letter(letters);
  store->flush();
  EXPECT_EQ(store->stats().dead_letters, 1u);
}

/// Content and size: what "left untouched" means here.
std::string fingerprint(const std::string& path) {
  return read_bytes(path) + "|" +
         (std::filesystem::exists(path + "-wal") ? read_bytes(path + "-wal")
                                                 : std::string("no wal"));
}

TEST(StoreSeqCheckTest, DamagedSeqBookkeepingIsRefusedAndTheFileLeftUntouched) {
  const std::vector<std::pair<std::string, std::string>> damage{
      {"UPDATE meta SET value = 9223372036854775800 WHERE key = 'next_seq'",
       "too close to the end of the seq range"},
      {"UPDATE meta SET value = 9223372036854775807 WHERE key IN ('next_seq', 'next_seq_used')",
       "too close to the end of the seq range"},
      {"UPDATE meta SET value = 3 WHERE key = 'next_seq'", "not above the highest stored seq 5"},
      {"UPDATE meta SET value = -7 WHERE key = 'next_seq'", "meta.next_seq is -7"},
      {"UPDATE meta SET value = 2 WHERE key = 'next_seq_used'", "meta.next_seq_used is 2"},
      {"UPDATE readings SET seq = -1 WHERE seq = 1", "a stored reading has seq -1"},
  };
  for (const auto& [sql, message] : damage) {
    TempDir dir;
    const auto path = make_buffer(dir, 5);
    exec_on(path, sql);
    const auto before = fingerprint(path);
    try {
      auto store = open_sqlite_store(manual_config(path));
      ADD_FAILURE() << "opened a buffer after: " << sql;
    } catch (const StoreDamagedError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    EXPECT_EQ(fingerprint(path), before) << "the file was changed after: " << sql;
    EXPECT_EQ(int_of(path, "SELECT count(*) FROM readings"), 5);
  }
}

TEST(StoreSeqCheckTest, AHealthyBufferNearItsLimitStillOpens) {
  TempDir dir;
  const auto path = make_buffer(dir, 2);
  const auto high = kMaxOpeningSeq - 10;
  exec_on(path, fmt::format("UPDATE readings SET seq = seq + {}; UPDATE meta SET value = {} WHERE "
                            "key IN ('next_seq', 'next_seq_used')",
                            high, high + 3));
  auto store = open_sqlite_store(manual_config(path));
  store->append(make_batch(1));
  store->flush();
  EXPECT_EQ(store->stats().rows, 3u) << "commits work";
  EXPECT_EQ(seqs_of(store->peek(0, 10)).back(), high + 3);
}

}  // namespace
}  // namespace fieldgate::bridge::testing
