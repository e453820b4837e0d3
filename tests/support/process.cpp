#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fieldgate::testing {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_dir,
                           std::vector<std::string> extra_env) {
  static int counter = 0;
  const auto stem =
      std::filesystem::path(argv.at(0)).filename().string() + "-" + std::to_string(++counter);
  out_path_ = log_dir / (stem + ".out");
  err_path_ = log_dir / (stem + ".err");
  // Everything that allocates happens before fork(): the test process has threads.
  // extra_env first: getenv() takes the first of duplicate names.
  std::vector<std::string> env = std::move(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    // The test runner may block signals; the child must not inherit that.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0 || reaped_) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

bool ChildProcess::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stdout_text().find(needle) != std::string::npos) return true;
    if (!reaped_ && waitpid(pid_, nullptr, WNOHANG) == pid_) {
      reaped_ = true;
      return stdout_text().find(needle) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string ChildProcess::stdout_text() const {
  return read_file(out_path_);
}
std::string ChildProcess::stderr_text() const {
  return read_file(err_path_);
}

RunResult run_command(std::vector<std::string> argv, const std::filesystem::path& log_dir,
                      std::chrono::milliseconds timeout, std::vector<std::string> extra_env) {
  ChildProcess child(std::move(argv), log_dir, std::move(extra_env));
  RunResult result;
  result.exit_code = child.wait_exit(timeout);
  result.out = child.stdout_text();
  result.err = child.stderr_text();
  return result;
}

ScratchDir::ScratchDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("fieldgate-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path ScratchDir::write(const std::string& name, const std::string& text) const {
  auto path = path_ / name;
  std::ofstream(path) << text;
  return path;
}

int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

PtyPair::PtyPair(const std::filesystem::path& dir)
    : a_(dir / "tty-a"),
      b_(dir / "tty-b"),
      socat_({"socat", "-d", "-d", "pty,raw,echo=0,link=" + a_.string(),
              "pty,raw,echo=0,link=" + b_.string()},
             dir) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!(std::filesystem::exists(a_) && std::filesystem::exists(b_))) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("socat did not create the pty pair: " + socat_.stderr_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace fieldgate::testing
