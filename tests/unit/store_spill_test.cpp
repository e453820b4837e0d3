// Spill mode ([store] mode = "spill", bridge/spill_store.cpp) on real SQLite
// files: readings are visible at once, confirmed ones never reach the file,
// unconfirmed ones reach it after spill_after, when memory is full, or at
// stop, and seqs are never handed out twice, not even after a crash.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <random>
#include <set>

#include "bridge/spill_store.hpp"
#include "bridge/sqlite_handles.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

using namespace std::chrono_literals;

config::StoreConfig spill_config(const std::string& path, config::Duration spill_after = 1h) {
  auto c = manual_config(path);
  c.mode = config::StoreMode::kSpill;
  c.spill_after = spill_after;
  return c;
}

/// The seqs in the file, read beside the store through a connection of our own.
std::vector<std::uint64_t> seqs_in_file(const std::string& path) {
  auto db = sqlite::open(path, SQLITE_OPEN_READONLY);
  auto stmt = sqlite::prepare(db.get(), "SELECT seq FROM readings ORDER BY seq");
  std::vector<std::uint64_t> out;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    out.push_back(static_cast<std::uint64_t>(sqlite3_column_int64(stmt.get(), 0)));
  }
  return out;
}

TEST(SpillStoreTest, ReadingsAreVisibleAtOnceAndConfirmedOnesNeverReachTheFile) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    auto store = open_sqlite_store(spill_config(path));
    store->append(make_batch(100));
    const auto got = store->claim(0, 1000);  // no flush, no commit: memory
    ASSERT_EQ(seqs_of(got), seq_range(1, 100));
    EXPECT_EQ(std::get<std::int64_t>(got[41].value), 41);
    const auto s = store->stats();
    EXPECT_EQ(s.rows, 100u);
    EXPECT_EQ(s.memory, 100u);
    EXPECT_EQ(s.accepted, 100u);
    store->ack(seqs_of(got));
    EXPECT_EQ(store->stats().rows, 0u);
    EXPECT_EQ(store->stats().acked, 100u);
    EXPECT_TRUE(store->peek(0, 10).empty());
    EXPECT_TRUE(seqs_in_file(path).empty());
  }
  // A clean stop gives the unused seq reservation back: no gap.
  auto store = open_sqlite_store(manual_config(path));
  EXPECT_EQ(store->stats().rows, 0u);
  EXPECT_EQ(store->stats().next_seq, 101u);
}

TEST(SpillStoreTest, UnconfirmedReadingsReachTheFileAfterSpillAfter) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  auto store = open_sqlite_store(spill_config(path, 50ms));
  store->append(make_batch(10));
  store->ack(std::vector<std::uint64_t>{2, 5});
  ASSERT_TRUE(eventually([&] { return store->stats().spilled == 8; }));
  EXPECT_EQ(seqs_in_file(path), (std::vector<std::uint64_t>{1, 3, 4, 6, 7, 8, 9, 10}));
  const auto s = store->stats();
  EXPECT_EQ(s.memory, 0u);
  EXPECT_EQ(s.rows, 8u);
  // Now in the file like any other: still returned, and acked there.
  EXPECT_EQ(seqs_of(store->peek(0, 100)), (std::vector<std::uint64_t>{1, 3, 4, 6, 7, 8, 9, 10}));
  store->ack(std::vector<std::uint64_t>{1, 3, 4});
  store->flush();
  EXPECT_EQ(seqs_in_file(path), (std::vector<std::uint64_t>{6, 7, 8, 9, 10}));
}

TEST(SpillStoreTest, AFullMemoryQueueSpillsItsOldestAndReadsStayInSeqOrder) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  auto config = spill_config(path);
  config.spill_memory = 64 * 1024;
  auto store = open_sqlite_store(config);
  for (int i = 0; i < 20; ++i) store->append(make_batch(100, i * 100));
  ASSERT_TRUE(eventually([&] { return store->stats().spilled > 0; }));
  ASSERT_TRUE(eventually([&] {
    const auto s = store->stats();
    return s.memory + seqs_in_file(path).size() == 2000 && s.memory > 0;
  })) << "spilled "
      << store->stats().spilled << ", memory " << store->stats().memory;
  const auto in_file = seqs_in_file(path);
  EXPECT_EQ(in_file.front(), 1u) << "the oldest go first";
  // The file and memory together, oldest first, each once, in pages.
  std::vector<std::uint64_t> all;
  for (std::uint64_t after = 0;;) {
    const auto page = store->peek(after, 333);
    if (page.empty()) break;
    for (const auto& r : page) all.push_back(r.seq);
    after = page.back().seq;
  }
  EXPECT_EQ(all, seq_range(1, 2000));
}

TEST(SpillStoreTest, StopMovesWhatIsHeldToTheFile) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    auto store = open_sqlite_store(spill_config(path));
    store->append(make_batch(10));
    store->ack(std::vector<std::uint64_t>{1, 2, 9});
    EXPECT_TRUE(seqs_in_file(path).empty());
  }
  EXPECT_EQ(seqs_in_file(path), (std::vector<std::uint64_t>{3, 4, 5, 6, 7, 8, 10}));
  auto store = open_sqlite_store(spill_config(path));
  EXPECT_EQ(store->stats().next_seq, 11u);
  EXPECT_EQ(seqs_of(store->peek(0, 100)), (std::vector<std::uint64_t>{3, 4, 5, 6, 7, 8, 10}));
  store->append(make_batch(2));
  EXPECT_EQ(seqs_of(store->peek(8, 100)), (std::vector<std::uint64_t>{10, 11, 12}));
}

// What spill mode gives up: a process that dies loses what was in memory. What
// it keeps: the seqs it had handed out are never handed out again.
TEST(SpillStoreTest, ACrashLosesWhatWasInMemoryButNeverReusesItsSeqs) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  ASSERT_TRUE(in_a_process_that_dies([&](std::unique_ptr<Store>& store) {
    store = open_sqlite_store(spill_config(path));
    store->append(make_batch(500));
    return store->peek(0, 1000).size() == 500;
  }));
  auto store = open_sqlite_store(spill_config(path));
  EXPECT_EQ(store->stats().rows, 0u) << "memory does not survive a crash";
  EXPECT_GT(store->stats().next_seq, 500u);
  store->append(make_batch(1));
  EXPECT_GT(store->peek(0, 10).at(0).seq, 500u);
}

TEST(SpillStoreTest, ManySeqsAreReservedAheadWithoutBlockingAppend) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  auto store = open_sqlite_store(spill_config(path));
  const std::uint64_t total = 3 * kSeqReserveBlock + 7;
  std::uint64_t last = 0;
  for (std::uint64_t n = 0; n < total; n += 1000) {
    store->append(make_batch(1000));
    const auto got = store->claim(last, 1000);
    ASSERT_EQ(got.size(), 1000u);
    ASSERT_EQ(got.front().seq, last + 1);
    last = got.back().seq;
    store->ack(seqs_of(got));
  }
  EXPECT_EQ(store->stats().next_seq, last + 1);
  EXPECT_TRUE(seqs_in_file(path).empty());
  // The file already records the seqs handed out as taken.
  auto db = sqlite::open(path, SQLITE_OPEN_READONLY);
  EXPECT_GT(sqlite::query_int(db.get(), "SELECT value FROM meta WHERE key = 'next_seq'"),
            static_cast<std::int64_t>(last));
}

TEST(SpillStoreTest, ReadingsClaimedFromMemoryAreNotEvictedAfterTheySpill) {
  TempDir dir;
  auto config = spill_config(dir.file("buffer.db"), 20ms);
  config.max_rows = 5;
  auto store = open_sqlite_store(config);
  store->append(make_batch(10));
  ASSERT_EQ(store->claim(0, 10).size(), 10u);  // handed to the broker, unconfirmed
  ASSERT_TRUE(eventually([&] { return store->stats().spilled == 10; }));
  store->flush();
  EXPECT_EQ(store->stats().dropped_oldest, 0u);
  EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(1, 10));
  store->append(make_batch(3));  // unclaimed: these may be evicted
  ASSERT_TRUE(eventually([&] { return store->stats().spilled == 13; }));
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(1, 10));
  EXPECT_EQ(store->stats().dropped_oldest, 3u);
}

// A forwarder acking at random moments while readings spill every few
// milliseconds: at the end, the file holds exactly the unconfirmed readings,
// each once; no acked reading comes back.
TEST(SpillStoreTest, AcksRacingSpillsNeverResurrectOrLoseAReading) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  std::set<std::uint64_t> acked;
  std::vector<std::uint64_t> claimed;
  std::uint64_t appended = 0;
  {
    auto config = spill_config(path, 2ms);
    config.spill_memory = 64 * 1024;  // spills because memory is full too
    auto store = open_sqlite_store(config);
    std::atomic<bool> done{false};
    std::thread producer([&] {
      for (int i = 0; i < 400; ++i) {
        store->append(make_batch(25));
        std::this_thread::sleep_for(100us);
      }
      done = true;
    });
    std::mt19937 rng(7);
    std::uint64_t cursor = 0;
    for (;;) {
      const bool finished = done.load();
      auto got = store->claim(cursor, 64);
      if (got.empty() && finished) break;
      if (got.empty()) continue;
      cursor = got.back().seq;
      for (const auto& r : got) claimed.push_back(r.seq);
      std::vector<std::uint64_t> ack;
      for (const auto& r : got) {
        if (rng() % 4 != 0) ack.push_back(r.seq);  // a quarter stays unconfirmed
      }
      if (rng() % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
      store->ack(ack);
      acked.insert(ack.begin(), ack.end());
    }
    producer.join();
    appended = store->stats().accepted;
    EXPECT_GT(store->stats().spilled, 0u) << "nothing spilled: the race was not exercised";
  }
  ASSERT_EQ(appended, 10'000u);
  EXPECT_EQ(claimed, seq_range(1, appended)) << "claims skipped or repeated a reading";
  std::vector<std::uint64_t> expected;
  for (std::uint64_t s = 1; s <= appended; ++s) {
    if (!acked.contains(s)) expected.push_back(s);
  }
  EXPECT_EQ(seqs_in_file(path), expected);
}

}  // namespace
}  // namespace fieldgate::bridge::testing
