// An instrument that mixes line ends, over a real pty pair, read by the real
// binary: with delimiter "\r\n" a line ending in a lone "\n" is a bad frame
// that `poll --raw` shows with the reason (it used to vanish as line noise or
// pile up unseen); with delimiter "any-line-end" every line is a reading
// (issue 14, E23).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

// Writes `line` into the pty every 100 ms until stopped: the instrument.
class Instrument {
 public:
  Instrument(const std::string& tty, std::string line) : line_(std::move(line)) {
    fd_ = ::open(tty.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open " + tty);
    thread_ = std::thread([this] {
      while (!stop_) {
        if (::write(fd_, line_.data(), line_.size()) < 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~Instrument() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  Instrument(const Instrument&) = delete;
  Instrument& operator=(const Instrument&) = delete;

 private:
  std::string line_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string config(const std::string& tty, const std::string& delimiter) {
  return fmt::format(R"(
[[devices]]
name = "probe"
driver = "serial-line"
port = "{}"
delimiter = "{}"
parse = "key-value"
poll_interval = "100ms"
[[devices.points]]
name = "temperature"
key = "T"
[[devices.points]]
name = "humidity"
key = "RH"
)",
                     tty, delimiter);
}

TEST(SerialLineEnds, CrlfDelimiterShowsALineEndingInLfAsABadFrameWithTheReason) {
  ScratchDir dir;
  PtyPair pty(dir.path());
  const auto path = dir.write("probe.toml", config(pty.b(), "\\r\\n"));
  const Instrument probe(pty.a(), "T=21.5\nRH=40\r\n");
  const auto result =
      run_command({kBinary, "poll", "--raw", "--duration", "2s", "-c", path.string()}, dir.path(),
                  std::chrono::seconds(30));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("RAW  \"T=21.5\\n\"  bad: ends with \"\\n\", not the delimiter "
                            "\"\\r\\n\" (delimiter = \"any-line-end\" takes \\r\\n, \\n and \\r)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("RAW  \"RH=40\\r\\n\"  ok"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("garbage"), std::string::npos) << result.out;
  // The health line names it too.
  EXPECT_NE(result.err.find("last bad frame \"T=21.5\\n\""), std::string::npos) << result.err;
}

TEST(SerialLineEnds, AnyLineEndReadsEveryLineOfAMixedDevice) {
  ScratchDir dir;
  PtyPair pty(dir.path());
  const auto path = dir.write("probe.toml", config(pty.b(), "any-line-end"));
  const Instrument probe(pty.a(), "T=21.5\nRH=40\r\nT=22.5\rRH=41\r\n");
  const auto result =
      run_command({kBinary, "poll", "--raw", "--duration", "2s", "-c", path.string()}, dir.path(),
                  std::chrono::seconds(30));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.find("bad:"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("garbage"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("RAW  \"T=21.5\\n\"  ok"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("RAW  \"T=22.5\\r\"  ok"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("22.5"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("41"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace fieldgate::testing
