// Thread names: cut to what Linux keeps without splitting a character, and
// set where /proc (top -H, ps -L, the bench) reads them.
#include "core/thread_name.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/store_test_support.hpp"

namespace fieldgate {
namespace {

std::string comm_of_task(const std::filesystem::path& task) {
  std::ifstream in(task / "comm");
  std::string name;
  std::getline(in, name);
  return name;
}

std::vector<std::string> names_of_this_process() {
  std::vector<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    names.push_back(comm_of_task(task.path()));
  }
  return names;
}

TEST(ThreadNameTest, ShortNamesAreKeptAndLongOnesCutToWhatLinuxKeeps) {
  EXPECT_EQ(thread_name("forwarder"), "forwarder");
  EXPECT_EQ(thread_name("poll:meter-kitc"), "poll:meter-kitc");  // 15 bytes: kept whole
  EXPECT_EQ(thread_name("poll:meter-kitchen-east"), "poll:meter-kitc");
  EXPECT_EQ(thread_name(""), "");
}

TEST(ThreadNameTest, ACutNeverSplitsAUtf8Sequence) {
  // "poll:" and 9 ASCII bytes, then "ä" (2 bytes) across the 15-byte limit.
  EXPECT_EQ(thread_name("poll:123456789\xC3\xA4x"), "poll:123456789");
  // "€" (3 bytes) ending exactly at the limit is kept.
  EXPECT_EQ(thread_name("poll:1234567\xE2\x82\xACxyz"), "poll:1234567\xE2\x82\xAC");
  // A 4-byte sequence cut after its second byte goes whole.
  EXPECT_EQ(thread_name("poll:123456789\xF0\x9F\x92\xA1"), "poll:123456789");
}

TEST(ThreadNameTest, TheNameIsWhatProcShowsForTheThread) {
  std::string seen;
  std::thread worker([&] {
    name_this_thread("poll:meter-kitchen-east");
    seen = comm_of_task(std::filesystem::path("/proc/self/task") / std::to_string(::gettid()));
  });
  worker.join();
  EXPECT_EQ(seen, "poll:meter-kitc");
}

TEST(ThreadNameTest, TheStoresCommitterIsNamedStore) {
  bridge::testing::TempDir dir;
  auto store = bridge::open_sqlite_store(bridge::testing::manual_config(dir.file("buffer.db")));
  // The thread names itself as it starts: look for up to 5 s.
  std::vector<std::string> names;
  for (int i = 0; i < 500; ++i) {
    names = names_of_this_process();
    if (std::count(names.begin(), names.end(), "store") > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(std::count(names.begin(), names.end(), "store"), 1) << ::testing::PrintToString(names);
}

}  // namespace
}  // namespace fieldgate
