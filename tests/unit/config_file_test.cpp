// Files read at start-up (config/file_read.hpp, load_config): only a regular
// file of bounded size, opened without blocking. A FIFO, a device or a huge
// file is refused with a message that says what the path is (issue 14, C9).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <string>

#include "config/config.hpp"
#include "config/file_read.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::config {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("fieldgate-file-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return file(name);
  }
  std::string fifo(const std::string& name) const {
    const std::string path = file(name);
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    return path;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// Runs `read` on a thread; if it is still blocked after a generous bound (a
// FIFO without a writer blocks open() forever), a writer opens and closes the
// FIFO, which ends the read with EOF, so a failing test still finishes.
template <class Fn>
auto without_hanging(const std::string& fifo, Fn read) {
  auto result = std::async(std::launch::async, read);
  const bool finished = result.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!finished) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  EXPECT_TRUE(finished) << "reading " << fifo << " blocked";
  return result.get();
}

TEST(FileRead, ARegularFileIsReadWholeWithItsMode) {
  TempDir dir;
  const std::string path = dir.write("a.toml", "x = 1\n");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  const FileRead file = read_regular_file(path, 100);
  EXPECT_EQ(file.error, "");
  EXPECT_EQ(file.text, "x = 1\n");
  EXPECT_EQ(file.mode, 0640u);
  EXPECT_EQ(check_regular_file(path, 100).error, "");
}

TEST(FileRead, AFifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const std::string fifo = dir.fifo("config.toml");
  const FileRead file =
      without_hanging(fifo, [&] { return read_regular_file(fifo, kMaxConfigBytes); });
  EXPECT_EQ(file.error, "it is a FIFO (named pipe), not a regular file");
  EXPECT_TRUE(file.opened);
  EXPECT_EQ(file.what(), "cannot read the file: it is a FIFO (named pipe), not a regular file");
  EXPECT_EQ(without_hanging(fifo, [&] { return check_regular_file(fifo, kMaxTlsFileBytes); }).error,
            "it is a FIFO (named pipe), not a regular file");
}

TEST(FileRead, DevicesAndDirectoriesAreRefused) {
  TempDir dir;
  EXPECT_EQ(read_regular_file("/dev/zero", kMaxConfigBytes).error,
            "it is a character device, not a regular file");
  EXPECT_EQ(read_regular_file("/dev/null", kMaxSecretBytes).error,
            "it is a character device, not a regular file");
  EXPECT_EQ(read_regular_file(dir.file(""), kMaxConfigBytes).error,
            "it is a directory, not a regular file");
}

TEST(FileRead, AFileAboveTheBoundIsRefusedAndOneAtItIsRead) {
  TempDir dir;
  const std::string at_bound = dir.write("at", std::string(64 * 1024, 'x'));
  EXPECT_EQ(read_regular_file(at_bound, kMaxSecretBytes).text.size(), kMaxSecretBytes);
  const std::string above = dir.write("above", std::string(64 * 1024 + 1, 'x'));
  const FileRead file = read_regular_file(above, kMaxSecretBytes);
  EXPECT_EQ(file.error, "it is larger than 64KiB, the most read from this file");
  EXPECT_TRUE(file.text.empty());
  EXPECT_EQ(check_regular_file(above, kMaxSecretBytes).error, file.error);
  // A sparse file of 1 TiB (2 GiB where off_t has 32 bits, armhf) costs no
  // disk and must cost no memory either.
  const std::string huge = dir.write("huge", "");
  const off_t huge_size =
      sizeof(off_t) >= 8 ? static_cast<off_t>(1LL << 40) : std::numeric_limits<off_t>::max();
  ASSERT_EQ(::truncate(huge.c_str(), huge_size), 0);
  EXPECT_EQ(read_regular_file(huge, kMaxConfigBytes).error,
            "it is larger than 4MiB, the most read from this file");
}

TEST(FileRead, AMissingFileSaysItCouldNotBeOpened) {
  const FileRead file = read_regular_file("/nonexistent/fieldgate.toml", kMaxConfigBytes);
  EXPECT_FALSE(file.opened);
  EXPECT_EQ(file.what(), "cannot open the file: No such file or directory");
}

TEST(LoadConfig, AFifoOrADeviceAsTheConfigIsAnErrorNamingTheFile) {
  TempDir dir;
  const std::string fifo = dir.fifo("gateway.toml");
  const std::string message = without_hanging(fifo, [&]() -> std::string {
    try {
      (void)fieldgate::test_support::load_config(fifo);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "loaded";
  });
  EXPECT_EQ(message,
            fifo + ": cannot read the file: it is a FIFO (named pipe), not a regular file");
  try {
    (void)fieldgate::test_support::load_config("/dev/zero");
    ADD_FAILURE() << "/dev/zero loaded";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "/dev/zero: cannot read the file: it is a character device, not a regular file");
  }
}

TEST(LoadConfig, AConfigAboveFourMiBIsRefused) {
  TempDir dir;
  // Valid TOML all the way: only the size is wrong.
  const std::string path = dir.write("big.toml", std::string(kMaxConfigBytes + 1, '#'));
  try {
    (void)fieldgate::test_support::load_config(path);
    ADD_FAILURE() << "a file above the bound loaded";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(
        e.what(),
        (path + ": cannot read the file: it is larger than 4MiB, the most read from this file")
            .c_str());
  }
}

}  // namespace
}  // namespace fieldgate::config
