// max_bytes bounds the buffer on disk, database and WAL together (issue 14,
// E21), under load: readings appended as fast as the store takes them while a
// reader claims and acks behind them, as the forwarder does with a slow
// broker. The bound's tolerance is the one docs/QUEUE.md states.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "bridge/store_commit.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

using namespace std::chrono_literals;

// docs/QUEUE.md: "the database and its WAL stay within max_bytes plus 10 %".
constexpr double kTolerance = 0.10;

std::uint64_t on_disk(const std::string& path) {
  std::uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += size;
  }
  return total;
}

struct LoadResult {
  std::uint64_t max_on_disk = 0;
  std::uint64_t max_wal = 0;
  StoreStats stats;
};

/// Appends readings of about 120 accounted bytes, 100 every 3 ms, until
/// `total` were handed over, while another thread claims and acks 50 every
/// 5 ms; samples the files after every append.
LoadResult run_load(const config::StoreConfig& config, int total) {
  auto store = open_sqlite_store(config);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    std::uint64_t cursor = 0;
    while (!stop) {
      const auto rows = store->claim(cursor, 50);
      if (!rows.empty()) {
        cursor = rows.back().seq;
        const auto seqs = seqs_of(rows);
        store->ack(seqs);
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  LoadResult result;
  for (int sent = 0; sent < total; sent += 100) {
    Batch batch;
    for (int k = 0; k < 100; ++k) {
      batch.push_back(make_reading("meter-" + std::to_string(k % 4), "point_" + std::to_string(k),
                                   std::string(64, static_cast<char>('a' + k % 26))));
    }
    store->append(std::move(batch));
    result.max_on_disk = std::max(result.max_on_disk, on_disk(config.path));
    std::error_code ec;
    result.max_wal = std::max<std::uint64_t>(result.max_wal,
                                             std::filesystem::file_size(config.path + "-wal", ec));
    std::this_thread::sleep_for(3ms);
  }
  store->flush();
  result.max_on_disk = std::max(result.max_on_disk, on_disk(config.path));
  stop = true;
  reader.join();
  result.stats = store->stats();
  return result;
}

class StoreDiskBoundTest : public ::testing::TestWithParam<config::Overflow> {};

TEST_P(StoreDiskBoundTest, TheDatabaseAndItsWalStayWithinMaxBytesUnderLoad) {
  // What the tests before this one wrote and the kernel has not yet: flushed
  // now, not during the load, where its writeback slows every checkpoint's
  // fsync and the WAL grows meanwhile (1.12 of the bound with 2.4 GB dirty,
  // docs/QUEUE.md). The bound is this store's under its own load.
  ::sync();
  TempDir dir;
  auto config = manual_config(dir.file("buffer.db"));
  config.max_bytes = 4ULL * 1024 * 1024;
  config.max_rows = 10'000'000;
  config.overflow = GetParam();
  config.commit_interval = 20ms;  // the committer's own timer, as in the daemon
  config.commit_batch = 1000;
  // About 6 times the bound in accounted bytes: the buffer is full most of the time.
  const auto result = run_load(config, 200'000);
  const auto bound = static_cast<double>(config.max_bytes);
  std::printf(
      "max_bytes %llu: database + WAL reached %llu bytes (%.3f of the bound; WAL at most "
      "%llu); %llu rows left, %llu dropped\n",
      static_cast<unsigned long long>(config.max_bytes),
      static_cast<unsigned long long>(result.max_on_disk),
      static_cast<double>(result.max_on_disk) / bound,
      static_cast<unsigned long long>(result.max_wal),
      static_cast<unsigned long long>(result.stats.rows),
      static_cast<unsigned long long>(result.stats.dropped_oldest + result.stats.dropped_newest));
  EXPECT_LE(static_cast<double>(result.max_on_disk), bound * (1 + kTolerance));
  // Not hollow: the bound was reached, and held by dropping readings.
  EXPECT_GE(static_cast<double>(result.max_on_disk), bound * 0.5);
  EXPECT_GT(result.stats.dropped_oldest + result.stats.dropped_newest, 0u);
}

INSTANTIATE_TEST_SUITE_P(Overflow, StoreDiskBoundTest,
                         ::testing::Values(config::Overflow::kDropOldest,
                                           config::Overflow::kDropNewest),
                         [](const auto& param_info) {
                           return param_info.param == config::Overflow::kDropOldest ? "DropOldest"
                                                                                    : "DropNewest";
                         });

}  // namespace
}  // namespace fieldgate::bridge::testing
