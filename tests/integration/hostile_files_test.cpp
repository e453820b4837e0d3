// Files from outside, given to the real binary: a FIFO or /dev/zero as the
// configuration (check, poll, run, and a SIGHUP reload) or as the password
// file, and a password file others can read. Each must end promptly with an
// error naming the file and what it is, never hang past SIGTERM or fill memory
// (issue 14, C9 and D19). The bounds below are generous: they tell a hang from
// a slow machine, they time nothing.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

constexpr auto kNoHang = std::chrono::seconds(20);

std::string make_fifo(const ScratchDir& dir, const std::string& name) {
  const auto path = (dir.path() / name).string();
  EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
  return path;
}

// A gateway that runs with nothing to talk to: the device and the broker are
// free loopback ports nobody listens on (it polls and reconnects, both fail).
std::string run_config(const ScratchDir& dir, const std::string& mqtt_extra = "") {
  return fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
[mqtt]
broker = "tcp://127.0.0.1:{}"
reconnect_min = "100ms"
reconnect_max = "500ms"
drain_timeout = "0s"
{}
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "200ms"
response_timeout = "100ms"
[[devices.points]]
name = "voltage"
kind = "input"
address = 0
)",
                     (dir.path() / "buffer.db").string(), free_loopback_port(), mqtt_extra,
                     free_loopback_port());
}

struct Command {
  std::vector<std::string> args;
  int exit_code;  // for a configuration that cannot be read
};

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands{
      {{"check"}, 1}, {{"poll", "--once"}, 1}, {{"run"}, 78}};
  return kCommands;
}

TEST(HostileConfigFile, AFifoAsConfigIsRefusedByCheckPollAndRun) {
  ScratchDir dir;
  const std::string fifo = make_fifo(dir, "gateway.toml");
  for (const Command& command : commands()) {
    std::vector<std::string> argv{kBinary};
    argv.insert(argv.end(), command.args.begin(), command.args.end());
    argv.insert(argv.end(), {"-c", fifo});
    const auto result = run_command(argv, dir.path(), kNoHang);
    EXPECT_EQ(result.exit_code, command.exit_code)
        << command.args[0] << " did not end by itself (-1) or ended otherwise\n"
        << result.err;
    EXPECT_NE(result.err.find(fifo + ": cannot read the file: it is a FIFO (named pipe), not a "
                                     "regular file"),
              std::string::npos)
        << command.args[0] << ": " << result.err;
  }
}

TEST(HostileConfigFile, DevZeroAsConfigIsRefusedByCheckPollAndRun) {
  ScratchDir dir;
  for (const Command& command : commands()) {
    std::vector<std::string> argv{kBinary};
    argv.insert(argv.end(), command.args.begin(), command.args.end());
    argv.insert(argv.end(), {"-c", "/dev/zero"});
    const auto result = run_command(argv, dir.path(), kNoHang);
    EXPECT_EQ(result.exit_code, command.exit_code) << command.args[0] << "\n" << result.err;
    EXPECT_NE(result.err.find(
                  "/dev/zero: cannot read the file: it is a character device, not a regular file"),
              std::string::npos)
        << command.args[0] << ": " << result.err;
  }
}

TEST(HostileConfigFile, AReloadThatMeetsAFifoFailsAndSigtermStillStops) {
  ScratchDir dir;
  const auto config = dir.write("gateway.toml", run_config(dir));
  ChildProcess run({kBinary, "run", "-c", config.string()}, dir.path());
  const auto deadline = std::chrono::steady_clock::now() + kNoHang;
  while (run.stderr_text().find("running:") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(run.stderr_text().find("running:"), std::string::npos) << run.stderr_text();

  // The file is replaced by a FIFO nobody writes to, then reloaded.
  std::filesystem::remove(config);
  make_fifo(dir, "gateway.toml");
  ASSERT_EQ(::kill(run.pid(), SIGHUP), 0);
  while (run.stderr_text().find("reload failed") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline + kNoHang) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(run.stderr_text().find("it is a FIFO (named pipe), not a regular file"),
            std::string::npos)
      << run.stderr_text();
  ASSERT_EQ(::kill(run.pid(), SIGTERM), 0);
  EXPECT_EQ(run.wait_exit(kNoHang), 0) << "SIGTERM did not stop it\n" << run.stderr_text();
}

TEST(HostilePasswordFile, AFifoOrDevZeroAsPasswordFileStopsRunWithAnError) {
  ScratchDir dir;
  const std::string fifo = make_fifo(dir, "mqtt-password");
  for (const std::string& password : {fifo, std::string("/dev/zero")}) {
    const auto config = dir.write(
        "gateway.toml",
        run_config(dir, fmt::format("username = \"u\"\npassword_file = \"{}\"", password)));
    const auto result = run_command({kBinary, "run", "-c", config.string()}, dir.path(), kNoHang);
    EXPECT_EQ(result.exit_code, 78) << password << " (-1: it hung)\n" << result.err;
    EXPECT_NE(result.err.find("mqtt.password_file: cannot read " + password + ": it is a "),
              std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("not a regular file"), std::string::npos) << result.err;
  }
}

TEST(HostilePasswordFile, APasswordFileOthersCanReadIsWarnedAbout) {
  ScratchDir dir;
  const auto password = dir.write("mqtt-password", "s3cret\n");
  ASSERT_EQ(::chmod(password.c_str(), 0644), 0);
  const auto config = dir.write(
      "gateway.toml",
      run_config(dir, fmt::format("username = \"u\"\npassword_file = \"{}\"", password.string())));
  ChildProcess run({kBinary, "run", "-c", config.string()}, dir.path(), {"CREDENTIALS_DIRECTORY="});
  const std::string warning = fmt::format(
      "mqtt.password_file {} has mode 0644: its group and others can read or change "
      "it; only its owner should (chmod 600 {})",
      password.string(), password.string());
  const auto deadline = std::chrono::steady_clock::now() + kNoHang;
  while (run.stderr_text().find("running:") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(run.stderr_text().find(warning), std::string::npos) << run.stderr_text();
  EXPECT_EQ(run.stderr_text().find("s3cret"), std::string::npos) << "the password was logged";
  ::kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.wait_exit(kNoHang), 0) << run.stderr_text();

  // chmod 600, as the warning says: no warning.
  ASSERT_EQ(::chmod(password.c_str(), 0600), 0);
  ChildProcess again({kBinary, "run", "-c", config.string()}, dir.path(),
                     {"CREDENTIALS_DIRECTORY="});
  const auto second_deadline = std::chrono::steady_clock::now() + kNoHang;
  while (again.stderr_text().find("running:") == std::string::npos &&
         std::chrono::steady_clock::now() < second_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(again.stderr_text().find("running:"), std::string::npos) << again.stderr_text();
  EXPECT_EQ(again.stderr_text().find("has mode"), std::string::npos) << again.stderr_text();
  ::kill(again.pid(), SIGTERM);
  EXPECT_EQ(again.wait_exit(kNoHang), 0) << again.stderr_text();
}

}  // namespace
}  // namespace fieldgate::testing
