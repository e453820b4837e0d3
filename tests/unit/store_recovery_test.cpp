// What the store does with a file it cannot use (garbage, damaged pages, some
// other application's database, a newer schema) and with a full disk.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <regex>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "bridge/sqlite_handles.hpp"
#include "tests/unit/store_test_support.hpp"

namespace fieldgate::bridge::testing {
namespace {

/// Routes spdlog's default logger into a string for the duration of a test.
/// Install before opening a store and drop after it is destroyed.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  [[nodiscard]] std::string text() {
    spdlog::default_logger()->flush();
    return stream_.str();
  }
  [[nodiscard]] int count(const std::string& needle) {
    const auto all = text();
    int n = 0;
    for (auto pos = all.find(needle); pos != std::string::npos; pos = all.find(needle, pos + 1))
      ++n;
    return n;
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

/// The files "<name>.corrupt-YYYYMMDDTHHMMSSZ" in `dir`.
std::vector<std::filesystem::path> moved_aside(const TempDir& dir, const std::string& name) {
  const std::regex pattern(std::regex_replace(name, std::regex(R"(\.)"), R"(\.)") +
                           R"(\.corrupt-\d{8}T\d{6}Z)");
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (std::regex_match(entry.path().filename().string(), pattern)) found.push_back(entry.path());
  }
  return found;
}

void expect_fresh_store_works(const config::StoreConfig& config) {
  auto store = open_sqlite_store(config);
  EXPECT_EQ(store->stats().rows, 0u);
  store->append(make_batch(3));
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{1, 2, 3}));
}

void exec_on(const std::string& path, const char* sql) {
  auto db = sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite::exec(db.get(), sql);
}

TEST(StoreRecoveryTest, GarbageIsMovedAsideWithATimestampedNameAndAFreshBufferStarts) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage += static_cast<char>((i * 7919 + 13) % 251);
  write_bytes(path, garbage);
  LogCapture log;
  expect_fresh_store_works(manual_config(path));
  const auto moved = moved_aside(dir, "buffer.db");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(read_bytes(moved[0].string()), garbage) << "the old file must be kept as it was";
  const auto text = log.text();
  EXPECT_NE(text.find(path), std::string::npos) << text;
  EXPECT_NE(text.find(moved[0].string()), std::string::npos) << text;
  EXPECT_NE(text.find("error"), std::string::npos) << text;
}

TEST(StoreRecoveryTest, DamagedPagesFailTheIntegrityCheckAndAreMovedAside) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  const auto config = manual_config(path);
  {
    auto store = open_sqlite_store(config);
    for (int i = 0; i < 10; ++i) store->append(make_batch(500));
    store->flush();
  }  // the last connection checkpoints: everything is in the main file now
  auto bytes = read_bytes(path);
  ASSERT_GT(bytes.size(), 12u * 4096);
  for (std::size_t i = 4 * 4096; i < 10 * 4096; ++i) bytes[i] = static_cast<char>(0x5a);
  write_bytes(path, bytes);
  LogCapture log;
  expect_fresh_store_works(config);
  ASSERT_EQ(moved_aside(dir, "buffer.db").size(), 1u) << log.text();
}

TEST(StoreRecoveryTest, AnotherApplicationsDatabaseIsMovedAsideUntouched) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  exec_on(path, "CREATE TABLE customers(name TEXT); INSERT INTO customers VALUES ('x');");
  const auto original = read_bytes(path);
  LogCapture log;
  expect_fresh_store_works(manual_config(path));
  const auto moved = moved_aside(dir, "buffer.db");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(read_bytes(moved[0].string()), original);
  EXPECT_NE(log.text().find("not a fieldgate buffer"), std::string::npos) << log.text();
}

TEST(StoreRecoveryTest, ABufferFromANewerSchemaIsMovedAsideNotDowngraded) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    auto store = open_sqlite_store(manual_config(path));
    store->append(make_batch(2));
  }
  exec_on(path, "PRAGMA user_version = 99");
  LogCapture log;
  expect_fresh_store_works(manual_config(path));
  EXPECT_EQ(moved_aside(dir, "buffer.db").size(), 1u);
  EXPECT_NE(log.text().find("newer fieldgate"), std::string::npos) << log.text();
}

// A killed gateway leaves its last commits in the -wal. If someone then
// deletes only the database file, that WAL must not be replayed into the
// fresh one (SQLite drops the WAL of a zero-length database).
TEST(StoreRecoveryTest, AStaleWalWithoutItsDatabaseIsNotReplayed) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = open_sqlite_store(manual_config(path));
    store->append(make_batch(5));
    store->flush();
    ::_exit(0);  // no checkpoint: the rows are in the WAL only
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_GT(std::filesystem::file_size(path + "-wal"), 0u);
  std::filesystem::remove(path);
  auto store = open_sqlite_store(manual_config(path));
  EXPECT_EQ(store->stats().rows, 0u);
  EXPECT_EQ(store->stats().next_seq, 1u);
  store->append(make_batch(2));
  store->flush();
  EXPECT_EQ(seqs_of(store->peek(0, 10)), (std::vector<std::uint64_t>{1, 2}));
}

/// A tmpfs mounted for one test (needs CAP_SYS_ADMIN), unmounted at the end.
class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& where, const char* size) : where_(where) {
    std::filesystem::create_directories(where);
    const std::string options = std::string("size=") + size + ",mode=0700";
    mounted_ = ::mount("tmpfs", where.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::filesystem::path where_;
  bool mounted_ = false;
  std::string error_;
};

/// Fills the file system holding `path` until write() says ENOSPC.
void fill_up(const std::string& path) {
  sqlite::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
  const std::string chunk(4096, 'f');
  while (::write(fd.get(), chunk.data(), chunk.size()) > 0) {
  }
}

Batch big_batch(int n) {
  Batch batch;
  for (int i = 0; i < n; ++i) {
    batch.push_back(
        make_reading("meter", "serial", std::string(200, static_cast<char>('a' + i % 26))));
  }
  return batch;
}

TEST(StoreRecoveryTest, DiskFullKeepsReadingsPendingAndCommitsThemWhenSpaceReturns) {
  TempDir dir;
  TmpfsMount mount(dir.path() / "tmpfs", "4m");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (" << mount.error() << ")";
  const auto path = (dir.path() / "tmpfs" / "buffer.db").string();
  const auto filler = (dir.path() / "tmpfs" / "filler").string();
  LogCapture log;
  {
    auto store = open_sqlite_store(manual_config(path));
    store->append(make_batch(10));
    store->flush();
    fill_up(filler);
    store->append(big_batch(2000));
    for (int attempt = 0; attempt < 3; ++attempt) store->flush();  // each one fails
    auto s = store->stats();
    EXPECT_EQ(s.rows, 10u);
    EXPECT_EQ(s.pending, 2000u);
    EXPECT_EQ(log.count("commit to"), 1) << "one error line, not one per retry:\n" << log.text();
    EXPECT_EQ(store->peek(0, 5000).size(), 10u);

    std::filesystem::remove(filler);
    store->flush();
    s = store->stats();
    EXPECT_EQ(s.rows, 2010u);
    EXPECT_EQ(s.pending, 0u);
    EXPECT_EQ(s.dropped_oldest + s.dropped_newest + s.dropped_expired, 0u);
    const auto all = store->peek(0, 5000);
    ASSERT_EQ(all.size(), 2010u);
    for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].seq, i + 1);
    EXPECT_NE(log.text().find("work again"), std::string::npos) << log.text();
  }
}

// The same without privileges: RLIMIT_FSIZE makes every write past the WAL's
// current size fail (EFBIG), in a child process so the limit stays there.
TEST(StoreRecoveryTest, WriteFailuresFromAFileSizeLimitLoseNothing) {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    int code = 0;
    {
      auto store = open_sqlite_store(manual_config(path));
      store->append(make_batch(5));
      store->flush();
      const auto wal = std::filesystem::file_size(path + "-wal");
      rlimit limit{};
      ::getrlimit(RLIMIT_FSIZE, &limit);
      const rlimit tight{static_cast<rlim_t>(wal), limit.rlim_max};
      ::setrlimit(RLIMIT_FSIZE, &tight);
      store->append(big_batch(1000));
      store->flush();
      store->flush();
      if (store->stats().rows != 5 || store->stats().pending != 1000) code = 10;
      ::setrlimit(RLIMIT_FSIZE, &limit);
      store->flush();
      const auto all = store->peek(0, 5000);
      if (all.size() != 1005) code = code != 0 ? code : 11;
      for (std::size_t i = 0; i < all.size() && code == 0; ++i) {
        if (all[i].seq != i + 1) code = 12;
      }
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child crashed (signal " << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: not kept pending, 11: lost readings, 12: out of order";
}

}  // namespace
}  // namespace fieldgate::bridge::testing
