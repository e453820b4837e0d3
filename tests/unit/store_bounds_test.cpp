// The buffer's bounds (rows, bytes, age) and overflow policies, with exact
// counts of every dropped reading, persisted across a reopen.
#include <gtest/gtest.h>

#include "bridge/store_schema.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

TEST(StoreBoundsTest, DropOldestEvictsTheOldestRowsAndCountsThem) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_rows = 10;
  config.overflow = config::Overflow::kDropOldest;
  auto store = open_sqlite_store(config);

  store->append(make_batch(8));
  store->flush();
  store->append(make_batch(5));  // 13 > 10: seqs 1..3 go
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(4, 13));
  EXPECT_EQ(store->stats().dropped_oldest, 3u);

  // More pending than max_rows at once: the oldest pending go in memory (5),
  // then the whole committed content (10).
  store->append(make_batch(15));  // seqs 14..28
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(19, 28));
  const auto s = store->stats();
  EXPECT_EQ(s.rows, 10u);
  EXPECT_EQ(s.dropped_oldest, 18u);
  EXPECT_EQ(s.dropped_newest, 0u);
  EXPECT_EQ(s.next_seq, 29u);
}

TEST(StoreBoundsTest, DropNewestRefusesWhatDoesNotFitAndCountsIt) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_rows = 10;
  config.overflow = config::Overflow::kDropNewest;
  auto store = open_sqlite_store(config);

  store->append(make_batch(8));
  store->flush();
  store->append(make_batch(5));  // room for 2: seqs 11..13 refused
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(1, 10));
  EXPECT_EQ(store->stats().dropped_newest, 3u);

  store->append(make_batch(15));  // 5 refused in memory, 10 at the commit
  store->flush();
  const auto s = store->stats();
  EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(1, 10));
  EXPECT_EQ(s.dropped_newest, 18u);
  EXPECT_EQ(s.dropped_oldest, 0u);
  EXPECT_EQ(s.next_seq, 29u) << "refused readings used up their seqs: gaps, never reuse";

  // Room again after delivery.
  const auto delivered = seq_range(1, 4);
  store->ack(delivered);
  store->flush();
  store->append(make_batch(5));  // seqs 29..33: 4 fit
  store->flush();
  const auto after = seqs_of(store->peek(0, 100));
  ASSERT_EQ(after.size(), 10u);
  EXPECT_EQ(after.back(), 32u);
  EXPECT_EQ(store->stats().dropped_newest, 19u);
}

TEST(StoreBoundsTest, MaxBytesBoundsTheAccountedSize) {
  TempDir dir;
  const auto one = schema::accounted_size(make_batch(1)[0]);  // every reading here is this size
  for (const auto overflow : {config::Overflow::kDropOldest, config::Overflow::kDropNewest}) {
    auto config = manual_config(
        dir.file(std::string("buffer-") + std::string(config::to_string(overflow)) + ".db"));
    config.max_bytes = 5 * one + one / 2;
    config.overflow = overflow;
    auto store = open_sqlite_store(config);
    store->append(make_batch(3));
    store->flush();
    store->append(make_batch(4));
    store->flush();
    const auto s = store->stats();
    EXPECT_EQ(s.rows, 5u) << config::to_string(overflow);
    EXPECT_EQ(s.bytes, 5 * one);
    if (overflow == config::Overflow::kDropOldest) {
      EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(3, 7));
      EXPECT_EQ(s.dropped_oldest, 2u);
    } else {
      EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(1, 5));
      EXPECT_EQ(s.dropped_newest, 2u);
    }
  }
}

TEST(StoreBoundsTest, AReadingLargerThanMaxBytesIsDroppedNotStored) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_bytes = 1000;
  config.overflow = config::Overflow::kDropNewest;
  auto store = open_sqlite_store(config);
  Batch batch;
  batch.push_back(make_reading("d", "huge", std::string(5000, 'x')));
  store->append(std::move(batch));
  store->append(make_batch(1));  // fits once the huge one is gone
  store->flush();
  EXPECT_EQ(store->stats().rows, 1u);
  EXPECT_EQ(store->stats().dropped_newest, 1u);
  EXPECT_EQ(store->peek(0, 10).at(0).seq, 2u);
}

TEST(StoreBoundsTest, ReadingsOlderThanMaxAgeAreDroppedAsExpired) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_age = std::chrono::hours(1);
  auto store = open_sqlite_store(config);
  const auto now = now_ms();
  Batch batch;
  for (int i = 0; i < 3; ++i)
    batch.push_back(make_reading("d", "old", std::int64_t{i}, now - 7'200'000));
  batch.push_back(make_reading("d", "new", std::int64_t{9}, now));
  store->append(std::move(batch));
  store->flush();
  EXPECT_EQ(store->stats().rows, 1u);
  EXPECT_EQ(store->stats().dropped_expired, 3u);
  EXPECT_EQ(store->peek(0, 10).at(0).point, "new");
}

TEST(StoreBoundsTest, CommittedReadingsExpireAtALaterCommit) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_age = std::chrono::milliseconds(300);
  auto store = open_sqlite_store(config);
  store->append(make_batch(4));
  store->flush();
  ASSERT_EQ(store->stats().rows + store->stats().dropped_expired, 4u);
  // Whatever the machine's speed, each reading is expired after 300 ms.
  EXPECT_TRUE(eventually([&] {
    store->flush();
    return store->stats().rows == 0;
  }));
  EXPECT_EQ(store->stats().dropped_expired, 4u);
}

TEST(StoreBoundsTest, DroppedTotalsArePersistedAcrossReopen) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_rows = 2;
  config.max_age = std::chrono::hours(1);
  {
    auto store = open_sqlite_store(config);
    store->append(make_batch(5));  // 3 oldest dropped
    Batch old;
    old.push_back(make_reading("d", "old", std::int64_t{1}, now_ms() - 7'200'000));
    store->append(std::move(old));  // expired (dropping an older pending one first)
    store->flush();
  }
  config.overflow = config::Overflow::kDropNewest;
  {
    auto store = open_sqlite_store(config);
    const auto s = store->stats();
    EXPECT_EQ(s.dropped_oldest, 4u);
    EXPECT_EQ(s.dropped_expired, 1u);
    EXPECT_EQ(s.rows, 1u);
    store->append(make_batch(3));  // 1 refused in memory, 1 at the commit
    store->flush();
  }
  auto store = open_sqlite_store(config);
  const auto s = store->stats();
  EXPECT_EQ(s.dropped_oldest, 4u);
  EXPECT_EQ(s.dropped_newest, 2u);
  EXPECT_EQ(s.dropped_expired, 1u);
  EXPECT_EQ(s.rows, 2u);
}

// Regression: eviction used to take the oldest rows even when the forwarder
// had already published them. A row evicted while in flight and then
// confirmed was counted as dropped *and* delivered, so "dropped == missing"
// failed for a subscriber. Claimed rows now keep their place until acked;
// the oldest unclaimed rows go instead.
TEST(StoreBoundsTest, DropOldestPassesOverClaimedReadings) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_rows = 10;
  config.overflow = config::Overflow::kDropOldest;
  auto store = open_sqlite_store(config);

  store->append(make_batch(10));
  store->flush();
  EXPECT_EQ(seqs_of(store->claim(0, 4)), seq_range(1, 4));  // handed to the broker
  store->append(make_batch(3));                             // 13 > 10: three must go
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 100)),
            (std::vector<std::uint64_t>{1, 2, 3, 4, 8, 9, 10, 11, 12, 13}));
  EXPECT_EQ(store->stats().dropped_oldest, 3u);

  // Confirmed: gone as delivered, not as dropped.
  const std::vector<std::uint64_t> acked{1, 2, 3, 4};
  store->ack(acked);
  store->flush();
  EXPECT_EQ(store->stats().rows, 6u);
  EXPECT_EQ(store->stats().dropped_oldest, 3u);

  // Six claimed, six new: the two oldest new ones go, not the claimed ones.
  EXPECT_EQ(seqs_of(store->claim(4, 100)), seq_range(8, 13));
  store->append(make_batch(6));  // seqs 14..19
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 100)),
            (std::vector<std::uint64_t>{8, 9, 10, 11, 12, 13, 16, 17, 18, 19}));
  EXPECT_EQ(store->stats().dropped_oldest, 5u);
}

TEST(StoreBoundsTest, ExpiryPassesOverClaimedReadings) {
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_age = std::chrono::seconds(1);
  auto store = open_sqlite_store(config);
  store->append(make_batch(4));
  store->flush();
  ASSERT_EQ(store->stats().rows, 4u) << "the machine stalled for a second";
  EXPECT_EQ(seqs_of(store->claim(0, 2)), seq_range(1, 2));
  EXPECT_TRUE(eventually([&] {
    store->flush();
    return store->stats().rows == 2;
  }));
  EXPECT_EQ(seqs_of(store->peek(0, 100)), seq_range(1, 2));
  EXPECT_EQ(store->stats().dropped_expired, 2u);
  const std::vector<std::uint64_t> acked{1, 2};
  store->ack(acked);
  store->flush();
  EXPECT_EQ(store->stats().rows, 0u);
  EXPECT_EQ(store->stats().dropped_expired, 2u);
}

}  // namespace
}  // namespace fieldgate::bridge::testing
