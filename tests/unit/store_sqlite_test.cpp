// SqliteStore semantics on real files: group commit, visibility, seq, ack,
// the commit timer and batch trigger, file mode and durability settings.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <set>
#include <thread>

#include "bridge/sqlite_handles.hpp"
#include "bridge/store_file.hpp"
#include "queue/queue_db.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

using queue::QueueDb;

TEST(SqliteStoreTest, AppendedReadingsAreVisibleOnlyAfterTheCommitOldestFirst) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  store->append(make_batch(5));
  EXPECT_TRUE(store->peek(0, 100).empty()) << "visible before its commit";
  EXPECT_EQ(store->stats().pending, 5u);
  store->flush();
  const auto got = store->peek(0, 100);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(seqs_of(got), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(std::get<std::int64_t>(got[i].value), i);
  EXPECT_EQ(store->stats().rows, 5u);
  EXPECT_EQ(store->stats().pending, 0u);
  EXPECT_EQ(store->stats().accepted, 5u);
  EXPECT_EQ(seqs_of(store->peek(2, 2)), (std::vector<std::uint64_t>{3, 4}));
}

TEST(SqliteStoreTest, EveryValueKindAndFieldRoundTrips) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  const std::int64_t t0 = now_ms();
  Batch batch;
  batch.push_back(make_reading("d", "bool", true, t0 + 0));
  batch.push_back(make_reading("d", "int", std::int64_t{-9'007'199'254'740'993}, t0 + 1));
  batch.push_back(make_reading("d", "double", 230.125, t0 + 2));
  batch.push_back(make_reading("d", "nan", std::nan(""), t0 + 3));
  batch.push_back(make_reading("d", "string", std::string("SN-0042, \"x\"\n\xc3\xa9"), t0 + 4));
  auto failed = make_reading("d", "failed", std::monostate{}, t0 + 5);
  failed.quality = Quality::kTimeout;
  failed.error = "no answer within 1000 ms";
  failed.unit = "";
  batch.push_back(failed);
  batch.push_back(make_reading("d", "false", false, t0 + 6));
  store->append(std::move(batch));
  store->flush();
  const auto got = store->peek(0, 10);
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(std::get<bool>(got[0].value), true);
  EXPECT_EQ(std::get<std::int64_t>(got[1].value), -9'007'199'254'740'993);
  EXPECT_EQ(std::get<double>(got[2].value), 230.125);
  EXPECT_TRUE(std::isnan(std::get<double>(got[3].value)));
  EXPECT_EQ(std::get<std::string>(got[4].value), "SN-0042, \"x\"\n\xc3\xa9");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(got[5].value));
  EXPECT_EQ(got[5].quality, Quality::kTimeout);
  EXPECT_EQ(got[5].error, "no answer within 1000 ms");
  EXPECT_EQ(got[5].unit, "");
  EXPECT_EQ(std::get<bool>(got[6].value), false);
  EXPECT_EQ(got[0].device, "d");
  EXPECT_EQ(got[0].point, "bool");
  EXPECT_EQ(got[0].unit, "V");
  EXPECT_EQ(got[4].source_ts_ms, t0 + 4);
}

TEST(SqliteStoreTest, SeqIsMonotonicAcrossBatchesAndThreads) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&store] {
      for (int i = 0; i < 50; ++i) store->append(make_batch(20));
    });
  }
  for (auto& w : writers) w.join();
  store->flush();
  const auto got = store->peek(0, 10'000);
  ASSERT_EQ(got.size(), 4000u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq, i + 1);
  EXPECT_EQ(store->stats().next_seq, 4001u);
}

TEST(SqliteStoreTest, SeqSurvivesReopenAndIsNeverReusedEvenWhenEverythingWasDeleted) {
  TempDir dir;
  const auto config = manual_config(dir.file("buffer.db"));
  {
    auto store = open_sqlite_store(config);
    store->append(make_batch(10));
    store->flush();
  }
  {
    auto store = open_sqlite_store(config);
    EXPECT_EQ(store->stats().rows, 10u);
    EXPECT_EQ(store->stats().next_seq, 11u);
    store->append(make_batch(2));
    store->flush();
    const auto all = store->peek(0, 100);
    ASSERT_EQ(all.size(), 12u);
    EXPECT_EQ(all.back().seq, 12u);
    const auto seqs = seqs_of(all);
    store->ack(seqs);
    store->flush();
    EXPECT_EQ(store->stats().rows, 0u);
  }
  auto store = open_sqlite_store(config);  // max(seq) is gone; meta.next_seq is not
  EXPECT_EQ(store->stats().next_seq, 13u);
  store->append(make_batch(1));
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{13}));
}

// A process that dies cannot give its unused seq reservation back: the next
// one starts above it, so no seq it may have handed out (even in a commit a
// power cut would lose) is used again. queue stats tells the two apart.
TEST(SqliteStoreTest, AfterAnUncleanStopTheNextRunStartsAboveTheReservation) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  ASSERT_TRUE(in_a_process_that_dies([&](std::unique_ptr<Store>& store) {
    store = open_sqlite_store(manual_config(path));
    store->append(make_batch(30));
    store->flush();
    return store->peek(0, 100).size() == 30;
  }));
  {
    QueueDb db(path, QueueDb::Mode::kRead);
    const auto s = db.summary();
    EXPECT_EQ(s.next_seq, 31u);
    EXPECT_EQ(s.reserved_upto, 30u + kSeqReserveBlock);
  }
  auto store = open_sqlite_store(manual_config(path));
  EXPECT_EQ(store->stats().rows, 30u);
  EXPECT_EQ(store->stats().next_seq, 31u + kSeqReserveBlock);
  store->append(make_batch(1));
  store->flush();
  EXPECT_EQ(store->peek(30, 10).at(0).seq, 31u + kSeqReserveBlock);
}

TEST(SqliteStoreTest, AckedReadingsAreSkippedAtOnceAndDeletedByTheNextCommit) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  store->append(make_batch(6));
  store->flush();
  const std::vector<std::uint64_t> acked{1, 2, 4};
  store->ack(acked);
  // Not deleted yet (no commit since), but never returned again.
  EXPECT_EQ(store->stats().rows, 6u);
  EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{3, 5, 6}));
  EXPECT_EQ(seqs_of(store->peek(0, 2)), (std::vector<std::uint64_t>{3, 5}));
  store->flush();
  const auto s = store->stats();
  EXPECT_EQ(s.rows, 3u);
  EXPECT_EQ(s.acked, 3u);
  EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{3, 5, 6}));
  // Unknown and repeated acks are harmless.
  const std::vector<std::uint64_t> odd{1, 99, 5, 5};
  store->ack(odd);
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{3, 6}));
  EXPECT_EQ(store->stats().rows, 2u);
}

TEST(SqliteStoreTest, BytesAreAccountedAndRecomputedOnOpen) {
  TempDir dir;
  const auto config = manual_config(dir.file("buffer.db"));
  std::uint64_t bytes = 0;
  {
    auto store = open_sqlite_store(config);
    store->append(make_batch(9));
    store->flush();
    bytes = store->stats().bytes;
    EXPECT_GT(bytes, 9 * 32u);
    const std::vector<std::uint64_t> first{1};
    store->ack(first);
    store->flush();
    EXPECT_LT(store->stats().bytes, bytes);
    bytes = store->stats().bytes;
  }
  auto store = open_sqlite_store(config);
  EXPECT_EQ(store->stats().bytes, bytes);
  EXPECT_EQ(store->stats().rows, 8u);
}

TEST(SqliteStoreTest, ALowRateReadingIsCommittedByTheTimerWithoutFlush) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.commit_interval = std::chrono::milliseconds(100);
  auto store = open_sqlite_store(config);
  store->append(make_batch(1));
  EXPECT_TRUE(eventually([&] { return store->stats().rows == 1; }))
      << "not committed within a generous multiple of commit_interval";
  EXPECT_EQ(store->peek(0, 10).size(), 1u);
}

TEST(SqliteStoreTest, ReachingCommitBatchCommitsBeforeTheInterval) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));  // interval: 1 h
  config.commit_batch = 10;
  auto store = open_sqlite_store(config);
  store->append(make_batch(9));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(store->stats().rows, 0u) << "committed below commit_batch without the timer";
  store->append(make_batch(1));
  EXPECT_TRUE(eventually([&] { return store->stats().rows == 10; }));
}

TEST(SqliteStoreTest, TheListenerRunsAfterCommitsThatAddedReadings) {
  TempDir dir;
  auto store = open_sqlite_store(manual_config(dir.file("buffer.db")));
  std::atomic<int> calls{0};
  std::atomic<std::size_t> seen{0};
  store->set_commit_listener([&] {
    ++calls;
    seen = store->peek(0, 100).size();  // may call back into the store
  });
  store->flush();
  EXPECT_EQ(calls.load(), 0) << "nothing was added";
  store->append(make_batch(3));
  store->flush();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(seen.load(), 3u);
}

TEST(SqliteStoreTest, DestructionCommitsWhatIsPending) {
  TempDir dir;
  const auto config = manual_config(dir.file("buffer.db"));
  {
    auto store = open_sqlite_store(config);
    store->append(make_batch(7));
  }
  auto store = open_sqlite_store(config);
  EXPECT_EQ(store->peek(0, 100).size(), 7u);
}

TEST(SqliteStoreTest, TheFilesArePrivate) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  auto store = open_sqlite_store(manual_config(path));
  store->append(make_batch(3));
  store->flush();
  for (const auto& name : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat(name.c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

TEST(SqliteStoreTest, DurabilitySetsSynchronousAndWalMode) {
  TempDir dir;
  for (const auto durability : {config::Durability::kFull, config::Durability::kNormal}) {
    auto config = manual_config(dir.file("buffer.db"));
    config.durability = durability;
    const auto file = open_store_file(config);
    EXPECT_EQ(sqlite::query_int(file.db.get(), "PRAGMA synchronous"),
              durability == config::Durability::kFull ? 2 : 1);
    EXPECT_EQ(sqlite::query_text(file.db.get(), "PRAGMA journal_mode"), "wal");
  }
}

TEST(SqliteStoreTest, ASecondStoreOnTheSameFileIsRefused) {
  TempDir dir;
  const auto config = manual_config(dir.file("buffer.db"));
  auto store = open_sqlite_store(config);
  try {
    auto second = open_sqlite_store(config);
    FAIL() << "two stores share one file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  store->append(make_batch(1));
  store->flush();
  EXPECT_EQ(store->stats().rows, 1u);
}

// `fieldgate queue` takes a shared flock for a moment; a gateway starting in
// that moment waits for it instead of refusing to start.
TEST(SqliteStoreTest, AStoreOpeningWhileAReaderHoldsTheLockForAMomentWaitsForIt) {
  TempDir dir;
  const auto config = manual_config(dir.file("buffer.db"));
  open_sqlite_store(config).reset();  // the file exists, no store holds it
  const int reader = ::open(config.path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  ASSERT_EQ(::flock(reader, LOCK_SH | LOCK_NB), 0);
  std::thread release([reader] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(reader);  // releases the shared lock
  });
  std::unique_ptr<Store> store;
  EXPECT_NO_THROW(store = open_sqlite_store(config));
  release.join();
  ASSERT_TRUE(store);
  store->append(make_batch(1));
  store->flush();
  EXPECT_EQ(store->stats().rows, 1u);
}

TEST(SqliteStoreTest, AMissingDirectoryThrowsNamingThePathAndTheReason) {
  TempDir dir;
  const auto path = dir.file("no-such-dir/buffer.db");
  try {
    auto store = open_sqlite_store(manual_config(path));
    FAIL() << "opened " << path;
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace fieldgate::bridge::testing
