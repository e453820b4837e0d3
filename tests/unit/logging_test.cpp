// Logging: "<N>" priorities when stderr is the journal, identical lines held
// back so that a failing device cannot fill an SD card (but never an audit
// line), bounded memory for that, and every line escaped so that text from
// outside cannot forge lines or drive a terminal.
#include "gateway/logging.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/command_router.hpp"
#include "tests/support/modbus_config.hpp"

namespace fieldgate::gateway {
namespace {

using namespace std::chrono_literals;
using Clock = RepeatLimiter::Clock;

TEST(RepeatLimiter, HoldsBackRepeatsWithinTheWindowAndCountsThem) {
  RepeatLimiter limiter(5min, 100);
  const auto t0 = Clock::now();
  EXPECT_TRUE(limiter.admit("meter: timed out", t0).write);
  for (int i = 1; i <= 299; ++i) {
    EXPECT_FALSE(limiter.admit("meter: timed out", t0 + std::chrono::seconds(i)).write) << i;
  }
  EXPECT_TRUE(limiter.admit("pump: timed out", t0 + 10s).write) << "another line is not a repeat";
  const auto after = limiter.admit("meter: timed out", t0 + 5min);
  EXPECT_TRUE(after.write);
  EXPECT_EQ(after.held_back, 299u);
  EXPECT_EQ(after.since, std::chrono::seconds(300));
  // The count starts again.
  EXPECT_FALSE(limiter.admit("meter: timed out", t0 + 6min).write);
  const auto next = limiter.admit("meter: timed out", t0 + 10min);
  EXPECT_TRUE(next.write);
  EXPECT_EQ(next.held_back, 1u);
}

TEST(RepeatLimiter, StaysBoundedWithManyDifferentLines) {
  RepeatLimiter limiter(5min, 3);
  const auto t0 = Clock::now();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(limiter.admit("line " + std::to_string(i), t0).write) << "new lines always go out";
  }
  // The first three are tracked; lines past the bound are not, and so go out.
  EXPECT_FALSE(limiter.admit("line 0", t0 + 1s).write);
  EXPECT_TRUE(limiter.admit("line 9", t0 + 1s).write);
  // Once a window has passed, old entries with nothing held back make room.
  EXPECT_TRUE(limiter.admit("line 1", t0 + 6min).write);
  EXPECT_TRUE(limiter.admit("line 42", t0 + 6min).write);
  EXPECT_FALSE(limiter.admit("line 42", t0 + 6min + 1s).write) << "tracked again";
}

TEST(RepeatLimiter, KeepsBoundedKeysForLongLines) {
  // Found in issue 14: the limiter kept 1,024 whole lines, each as long as a
  // command payload could make it.
  RepeatLimiter limiter(5min, 1024);
  const auto t0 = Clock::now();
  for (int i = 0; i < 2000; ++i) {
    const std::string line = std::to_string(i) + std::string(100'000, 'x');
    EXPECT_TRUE(limiter.admit(line, t0).write);
  }
  EXPECT_EQ(limiter.tracked(), 1024u);
  EXPECT_LE(limiter.key_bytes(), 1024u * RepeatLimiter::kKeyBytes);
  // A long line is still known again, and one that differs only past the
  // prefix is another line.
  const std::string a = std::string(1000, 'a') + "1";
  const std::string b = std::string(1000, 'a') + "2";
  RepeatLimiter small(5min, 10);
  EXPECT_TRUE(small.admit(a, t0).write);
  EXPECT_FALSE(small.admit(a, t0 + 1s).write);
  EXPECT_TRUE(small.admit(b, t0 + 1s).write);
}

TEST(EscapeLogText, ControlBytesAndBrokenUtf8AreEscapedTextIsNot) {
  EXPECT_EQ(escape_log_text("meter: timed out"), "meter: timed out");
  EXPECT_EQ(escape_log_text("21.5 \u00b0C, Zürich"), "21.5 \u00b0C, Zürich");
  EXPECT_EQ(escape_log_text("a\nb\r\tc"), "a\\nb\\r\\tc");
  EXPECT_EQ(escape_log_text(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(escape_log_text("\x1b[2J\x7f"), "\\x1B[2J\\x7F");
  EXPECT_EQ(escape_log_text("\xff\xc3"), "\\xFF\\xC3") << "not UTF-8";
  EXPECT_EQ(escape_log_text("\xc0\xaf"), "\\xC0\\xAF") << "an overlong '/'";
  EXPECT_EQ(escape_log_text("\xed\xa0\x80"), "\\xED\\xA0\\x80") << "a surrogate";
  EXPECT_EQ(escape_log_text("\xc2\x9b"
                            "1m"),
            "\\xC2\\x9B"
            "1m")
      << "C1 CSI";
  EXPECT_EQ(escape_log_text("a\u2028b"), "a\\xE2\\x80\\xA8b") << "line separator";
}

/// Points stderr at a file while it lives.
class StderrToFile {
 public:
  explicit StderrToFile(const std::filesystem::path& path) : path_(path) {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  ~StderrToFile() {
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }
  StderrToFile(const StderrToFile&) = delete;
  StderrToFile& operator=(const StderrToFile&) = delete;

  /// "device:inode" of the file, as systemd puts it in $JOURNAL_STREAM.
  [[nodiscard]] std::string stream_id() const {
    struct stat st {};
    ::fstat(STDERR_FILENO, &st);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }

 private:
  std::filesystem::path path_;
  int saved_ = -1;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class JournalLogging : public ::testing::Test {
 protected:
  void TearDown() override {
    ::unsetenv("JOURNAL_STREAM");
    spdlog::drop_all();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test"));
  }
  std::filesystem::path file_ =
      std::filesystem::temp_directory_path() / ("fieldgate-log-" + std::to_string(::getpid()));
};

TEST_F(JournalLogging, LinesCarrySyslogPrioritiesAndRepeatsAreHeldBack) {
  {
    StderrToFile redirect(file_);
    ::setenv("JOURNAL_STREAM", redirect.stream_id().c_str(), 1);
    EXPECT_TRUE(stderr_is_journal());
    setup_logging("debug");
    spdlog::error("store: commit failed");
    spdlog::warn("meter: timed out");
    spdlog::info("mqtt: connected");
    spdlog::debug("detail");
    for (int i = 0; i < 50; ++i) spdlog::warn("meter: timed out");
    spdlog::default_logger()->flush();
  }
  EXPECT_EQ(read_file(file_),
            "<3>store: commit failed\n<4>meter: timed out\n<6>mqtt: connected\n<7>detail\n");
  std::filesystem::remove(file_);
}

TEST_F(JournalLogging, OneLineInIsOneLineOut) {
  // Found in issue 14: newlines and NUL in a command reached the log raw.
  {
    StderrToFile redirect(file_);
    ::setenv("JOURNAL_STREAM", redirect.stream_id().c_str(), 1);
    setup_logging("info");
    spdlog::warn("write meter/label = {} (id {})", std::string("\"ok\"\n<0>forged\0\x1b[2J", 19),
                 "\"\r\"");
    spdlog::default_logger()->flush();
  }
  EXPECT_EQ(read_file(file_),
            "<4>write meter/label = \"ok\"\\n<0>forged\\x00\\x1B[2J (id \"\\r\")\n");
  std::filesystem::remove(file_);
}

TEST_F(JournalLogging, IdenticalCommandsAreEachLogged) {
  // Found in issue 14: the README promises every command is logged, but the
  // repeat limiter held back identical audit lines for five minutes.
  config::Config config;
  config.gateway.name = "gw";
  config::DeviceConfig device;
  device.name = "meter";
  device.driver = "modbus-tcp";
  config::PointConfig setpoint = test_support::modbus_point(
      "setpoint", modbus::RegisterKind::kHolding, 0, modbus::ValueType::kInt16);
  setpoint.edit_write().writable = true;
  setpoint.edit_write().max = 30;
  device.points.push_back(setpoint);
  config.devices.push_back(device);
  Scheduler scheduler(config, {}, [](Batch&&) {});
  int results = 0;
  {
    StderrToFile redirect(file_);
    ::setenv("JOURNAL_STREAM", redirect.stream_id().c_str(), 1);
    setup_logging("info");
    CommandRouter router([&results](std::string, std::string, int) { ++results; });
    router.attach(config, scheduler);
    for (int i = 0; i < 3; ++i) {
      router.handle(bridge::IncomingCommand{
          "fieldgate/gw/meter/setpoint/set", "99", std::chrono::steady_clock::now(), {}, false});
    }
    spdlog::default_logger()->flush();
  }
  const std::string line =
      "<4>write meter/setpoint = 99 (topic fieldgate/gw/meter/setpoint/set, id null): rejected: "
      "out of range: 99 is above max 30\n";
  EXPECT_EQ(read_file(file_), line + line + line);
  EXPECT_EQ(results, 3);
  std::filesystem::remove(file_);
}

TEST_F(JournalLogging, AtATerminalLinesCarryTimestampAndLevel) {
  {
    StderrToFile redirect(file_);
    ::setenv("JOURNAL_STREAM", "1:2", 1);  // someone else's stream, inherited
    EXPECT_FALSE(stderr_is_journal());
    setup_logging("info");
    spdlog::warn("meter: timed out");
    spdlog::default_logger()->flush();
  }
  EXPECT_THAT(read_file(file_),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ warning meter: timed "
                                      "out\n"));
  std::filesystem::remove(file_);
}

}  // namespace
}  // namespace fieldgate::gateway
