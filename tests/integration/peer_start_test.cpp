// The test support's promise about peers (tests/support/process.hpp): a peer
// that fails to start, or dies before the test is done with it, explains
// itself with its exit status and stderr. A fresh machine once failed four
// pymodbus tests with only "pymodbus server did not start"; the reason, a
// missing Python module, was in the server's stderr and nobody saw it.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The message start_peer() throws for `argv`, or "" if it did not throw.
std::string start_failure(std::vector<std::string> argv, const ScratchDir& dir,
                          milliseconds timeout) {
  try {
    auto peer = start_peer(std::move(argv), dir.path(), "ready", timeout);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// Blocks (bounded) until `pid` has ended, without reaping it: the
// ChildProcess still owns that.
bool wait_ended_unreaped(pid_t pid, seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

TEST(PeerStartTest, APeerThatExitsAtOnceIsReportedWithItsStderrAndExitCode) {
  ScratchDir dir;
  // What pymodbus printed on a machine without python3-serial.
  const auto message = start_failure(
      {"sh", "-c", "echo \"ModuleNotFoundError: No module named 'serial'\" >&2; exit 3"}, dir,
      seconds(10));
  EXPECT_NE(message.find("No module named 'serial'"), std::string::npos) << message;
  EXPECT_NE(message.find("exited with code 3"), std::string::npos) << message;
  EXPECT_NE(message.find("ended before it was ready"), std::string::npos) << message;
  EXPECT_NE(message.find("sh -c"), std::string::npos) << message;  // which peer
}

TEST(PeerStartTest, AProgramThatCannotBeExecutedSaysSo) {
  ScratchDir dir;
  const auto message =
      start_failure({(dir.path() / "no-such-peer").string(), "--port", "0"}, dir, seconds(10));
  EXPECT_NE(message.find("cannot execute"), std::string::npos) << message;
  EXPECT_NE(message.find("no such file or directory"), std::string::npos) << message;
  EXPECT_NE(message.find("exited with code 127"), std::string::npos) << message;
}

TEST(PeerStartTest, APeerThatNeverGetsReadyIsReportedWithWhatItSaidAndEnded) {
  ScratchDir dir;
  const auto message = start_failure(
      {"sh", "-c", "echo 'binding 127.0.0.1: address in use, retrying' >&2; exec sleep 60"}, dir,
      milliseconds(300));
  EXPECT_NE(message.find("address in use, retrying"), std::string::npos) << message;
  EXPECT_NE(message.find("not ready (no \"ready\" on its stdout) after 300 ms"), std::string::npos)
      << message;
  EXPECT_NE(message.find("still running"), std::string::npos) << message;
}

TEST(PeerStartTest, APeerThatGetsReadyIsHandedOverRunning) {
  ScratchDir dir;
  auto peer =
      start_peer({"sh", "-c", "echo ready; exec sleep 60"}, dir.path(), "ready", seconds(10));
  ASSERT_TRUE(peer);
  EXPECT_TRUE(peer->running());
  EXPECT_EQ(peer->state(), "still running");
  const pid_t pid = peer->pid();
  peer.reset();  // ends it, by its pid
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST(PeerStartTest, APeerThatDiesDuringTheTestIsReportedWhenTheTestLetsItGo) {
  ScratchDir dir;
  auto peer =
      start_peer({"sh", "-c", "echo ready; sleep 0.2; echo 'fatal: lost the bus' >&2; exit 7"},
                 dir.path(), "ready", seconds(10));
  ASSERT_TRUE(wait_ended_unreaped(peer->pid(), seconds(10)));
  ::testing::internal::CaptureStderr();
  peer.reset();
  const auto note = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(note.find("had ended before the test let it go: exited with code 7"), std::string::npos)
      << note;
  EXPECT_NE(note.find("fatal: lost the bus"), std::string::npos) << note;
}

TEST(PeerStartTest, AnEndTheTestWaitedForIsNotReportedAgain) {
  ScratchDir dir;
  auto peer = start_peer({"sh", "-c", "echo ready; echo bye >&2; exit 0"}, dir.path(), "ready",
                         seconds(10));
  EXPECT_EQ(peer->wait_exit(seconds(10)), 0);
  ::testing::internal::CaptureStderr();
  peer.reset();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(PeerStartTest, SocatThatCannotMakeThePtyPairIsReportedWithItsStderr) {
  ScratchDir dir;
  // A directory where socat's first link goes: socat cannot replace it and exits.
  std::filesystem::create_directory(dir.path() / "tty-a");
  try {
    PtyPair pty(dir.path());
    FAIL() << "PtyPair did not throw";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("socat did not create the pty pair"), std::string::npos) << message;
    EXPECT_NE(message.find("exited with code"), std::string::npos) << message;
    EXPECT_NE(message.find("Is a directory"), std::string::npos) << message;  // socat's own words
  }
}

}  // namespace
}  // namespace fieldgate::testing
