// Test support: child processes (fieldgate itself, pymodbus, socat) started by
// a test and always ended by it, by their own pid. A peer that fails to start
// or dies early says why: its exit status and stderr end up in the test's
// output (start_peer, ~ChildProcess).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fieldgate::testing {

#ifdef FIELDGATE_BINARY
/// The fieldgate executable of this build: tests/CMakeLists.txt gives its
/// path to the integration and fault tests.
inline const std::string kBinary = FIELDGATE_BINARY;
#endif

/// A child process whose stdout and stderr go to files in a scratch directory.
/// The destructor sends SIGTERM, then SIGKILL after a grace period, and reaps it.
/// If the child had already ended by itself and the test never asked how
/// (wait_exit), the destructor prints how it ended and its stderr to stderr:
/// a test that failed because a peer died shows why.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_dir,
               std::vector<std::string> extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Waits until stdout contains `needle`; false on timeout or if the child exited.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
  /// Waits for the child to exit by itself; returns its exit code, 128 + the
  /// signal if a signal ended it (-1 on timeout).
  int wait_exit(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// The command line, for messages.
  [[nodiscard]] const std::string& command() const noexcept { return command_; }
  /// False once the child has ended (it is reaped then).
  [[nodiscard]] bool running() { return !poll_ended(); }
  /// "still running", "exited with code 3" or "killed by signal 9 (Killed)";
  /// reaps the child if it has ended.
  [[nodiscard]] std::string state();
  /// The command, its pid, state() and the end of its stderr and stdout: what
  /// a failure message needs to explain a peer that is not there.
  [[nodiscard]] std::string report();

 private:
  /// Reaps the child if it has ended (non-blocking); true if it has.
  bool poll_ended();

  pid_t pid_ = -1;
  std::optional<int> wait_status_;  // once reaped
  bool status_seen_ = false;        // wait_exit() handed the status to the test
  std::string command_;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

/// Starts a peer the test needs running (a simulator, pymodbus, socat) and
/// waits until its stdout contains `ready`. If it exits first, or is not ready
/// within `timeout`, throws std::runtime_error with report(): the command, how
/// it ended and its stderr, e.g. pymodbus' "ModuleNotFoundError: No module
/// named 'serial'" on a machine without python3-serial.
std::unique_ptr<ChildProcess> start_peer(std::vector<std::string> argv,
                                         const std::filesystem::path& log_dir,
                                         const std::string& ready,
                                         std::chrono::milliseconds timeout,
                                         std::vector<std::string> extra_env = {});

/// Runs a command to completion (bounded by `timeout`), capturing output.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult run_command(std::vector<std::string> argv, const std::filesystem::path& log_dir,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30),
                      std::vector<std::string> extra_env = {});

/// A fresh directory under the system temp dir, removed by the destructor.
/// The MQTT client library the test runs the gateway with:
/// $FIELDGATE_TEST_MQTT_CLIENT ("paho" or "mosquitto"), "" when unset (the
/// default client). tests/CMakeLists.txt runs the MQTT-touching tests once
/// per client by setting it.
[[nodiscard]] std::string test_mqtt_client();

/// `toml` with `client = "<test_mqtt_client()>"` after its `[mqtt]` line;
/// unchanged when the variable is unset or there is no such line. The lines
/// after it move down by one.
[[nodiscard]] std::string with_test_mqtt_client(std::string toml);

class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Writes `text` to `name` inside the directory and returns its path. A
  /// configuration (`*.toml`) gets the client under test
  /// (with_test_mqtt_client()).
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (for peers that cannot
/// bind port 0 and report it).
int free_loopback_port();

/// A pair of connected ptys made by socat: what one end writes the other reads,
/// like two ends of a serial cable.
class PtyPair {
 public:
  explicit PtyPair(const std::filesystem::path& dir);
  [[nodiscard]] std::string a() const { return a_.string(); }
  [[nodiscard]] std::string b() const { return b_.string(); }

 private:
  std::filesystem::path a_;
  std::filesystem::path b_;
  ChildProcess socat_;
};

}  // namespace fieldgate::testing
