#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace fieldgate::testing {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A gateway's log can be megabytes: a report shows its end, where the reason is.
constexpr std::size_t kReportTail = 8192;

std::string tail_of(const std::string& text) {
  if (text.empty()) return "(empty)\n";
  std::string out;
  if (text.size() > kReportTail) {
    out = "[... " + std::to_string(text.size() - kReportTail) + " bytes before]\n";
    out.append(text, text.size() - kReportTail, std::string::npos);
  } else {
    out = text;
  }
  if (out.back() != '\n') out += '\n';
  return out;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "ended (wait status " + std::to_string(status) + ")";
}

// Async-signal-safe: for the child between fork() and exec.
void write_all(int fd, const char* text, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, text, size);
    if (n <= 0) return;
    text += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_dir,
                           std::vector<std::string> extra_env) {
  static int counter = 0;
  for (const auto& a : argv) {
    if (!command_.empty()) command_ += ' ';
    command_ += a.find_first_of(" \t'\"") == std::string::npos ? a : "'" + a + "'";
  }
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
  // What the child writes to its stderr if exec fails (a missing program
  // would otherwise show only as "exited with code 127").
  const std::string exec_failed = "test support: cannot execute " + argv.at(0) + ": ";
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
    const int error = errno;
    write_all(STDERR_FILENO, exec_failed.data(), exec_failed.size());
    const char* reason = error == ENOENT   ? "no such file or directory\n"
                         : error == EACCES ? "permission denied\n"
                                           : "exec failed\n";
    write_all(STDERR_FILENO, reason, std::strlen(reason));
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  if (poll_ended()) {
    // It ended by itself and the test never looked at how: say it, with its
    // stderr, so a test that fails because a peer died explains itself.
    if (!status_seen_) {
      std::cerr << "test support: note: " << command_ << " (pid " << pid_
                << ") had ended before the test let it go: " << state() << "; its stderr:\n"
                << tail_of(stderr_text()) << std::flush;
    }
    return;
  }
  kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

bool ChildProcess::poll_ended() {
  if (wait_status_) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
  wait_status_ = status;
  return true;
}

bool ChildProcess::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stdout_text().find(needle) != std::string::npos) return true;
    if (poll_ended()) return stdout_text().find(needle) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!poll_ended()) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  status_seen_ = true;
  if (WIFEXITED(*wait_status_)) return WEXITSTATUS(*wait_status_);
  return 128 + WTERMSIG(*wait_status_);
}

std::string ChildProcess::state() {
  return poll_ended() ? describe_wait_status(*wait_status_) : "still running";
}

std::string ChildProcess::report() {
  std::string text = command_ + " (pid " + std::to_string(pid_) + ") " + state();
  if (wait_status_) status_seen_ = true;  // the test has it now
  return text + "\n--- its stderr ---\n" + tail_of(stderr_text()) + "--- its stdout ---\n" +
         tail_of(stdout_text());
}

std::string ChildProcess::stdout_text() const {
  return read_file(out_path_);
}
std::string ChildProcess::stderr_text() const {
  return read_file(err_path_);
}

std::unique_ptr<ChildProcess> start_peer(std::vector<std::string> argv,
                                         const std::filesystem::path& log_dir,
                                         const std::string& ready,
                                         std::chrono::milliseconds timeout,
                                         std::vector<std::string> extra_env) {
  auto peer = std::make_unique<ChildProcess>(std::move(argv), log_dir, std::move(extra_env));
  if (peer->wait_for_output(ready, timeout)) return peer;
  const std::string why = peer->running()
                              ? "not ready (no \"" + ready + "\" on its stdout) after " +
                                    std::to_string(timeout.count()) + " ms"
                              : "ended before it was ready";
  throw std::runtime_error("peer did not start, " + why + ": " + peer->report());
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
  const bool config = path.extension() == ".toml";
  std::ofstream(path) << (config ? with_test_mqtt_client(text) : text);
  return path;
}

std::string test_mqtt_client() {
  const char* client = std::getenv("FIELDGATE_TEST_MQTT_CLIENT");
  return client == nullptr ? std::string() : std::string(client);
}

std::string with_test_mqtt_client(std::string toml) {
  const std::string client = test_mqtt_client();
  if (client.empty()) return toml;
  for (std::size_t start = 0; start < toml.size();) {
    std::size_t end = toml.find('\n', start);
    if (end == std::string::npos) end = toml.size();
    if (std::string_view(toml).substr(start, end - start) == "[mqtt]") {
      toml.insert(end, "\nclient = \"" + client + "\"");
      break;
    }
    start = end + 1;
  }
  return toml;
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
    if (!socat_.running() || std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("socat did not create the pty pair: " + socat_.report());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace fieldgate::testing
