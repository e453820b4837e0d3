// Test support: child processes (fieldgate itself, pymodbus, socat) started by
// a test and always ended by it, by their own pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace fieldgate::testing {

/// A child process whose stdout and stderr go to files in a scratch directory.
/// The destructor sends SIGTERM, then SIGKILL after a grace period, and reaps it.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_dir,
               std::vector<std::string> extra_env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Waits until stdout contains `needle`; false on timeout or if the child exited.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
  /// Waits for the child to exit by itself; returns its exit code (-1 on timeout).
  int wait_exit(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

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
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Writes `text` to `name` inside the directory and returns its path.
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
