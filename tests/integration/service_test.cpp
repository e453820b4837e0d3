// fieldgate as the systemd service runs it: the sd_notify protocol (READY,
// STATUS, WATCHDOG, RELOADING, STOPPING) on a real notify socket, the exit
// status the unit's RestartPreventExitStatus= relies on, the service's paths
// (configuration directory, state directory, the password as a credential)
// with SIGHUP reload, and the unit file itself through systemd-analyze.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "gateway/watchdog.hpp"
#include "tests/support/fake_store.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::filesystem::path kSource = FIELDGATE_SOURCE_DIR;

/// The service manager's end of $NOTIFY_SOCKET: a datagram socket collecting
/// what the gateway sends.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path.string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(addr.sun_path)) throw std::runtime_error("socket path too long");
    std::copy(path_.begin(), path_.end(), addr.sun_path);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("cannot bind " + path_);
    }
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

  /// Receives until a message containing `needle` arrives (true) or `timeout`.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      messages_.emplace_back(buf, static_cast<std::size_t>(n));
      if (messages_.back().find(needle) != std::string::npos) return true;
    }
    return false;
  }

  /// Every message received so far, one per line.
  [[nodiscard]] std::string all() const {
    std::string out;
    for (const auto& m : messages_) out += m + "\n---\n";
    return out;
  }
  [[nodiscard]] std::size_t count(const std::string& needle) const {
    return static_cast<std::size_t>(
        std::count_if(messages_.begin(), messages_.end(),
                      [&](const std::string& m) { return m.find(needle) != std::string::npos; }));
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

std::string gateway_config(const std::string& db, const std::string& broker, int meter_port,
                           const std::string& extra = "") {
  return fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "100ms"
[mqtt]
broker = "{}"
username = "gateway"
reconnect_min = "100ms"
reconnect_max = "500ms"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "200ms"
[[devices.points]]
name = "voltage_l1"
kind = "input"
address = 0
type = "float32"
{}
)",
                     db, broker, meter_port, extra);
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meter_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "simulate", "modbus-tcp", "--port", "0"}, dir_.path());
    ASSERT_TRUE(meter_->wait_for_output("simulating", 10s)) << meter_->stderr_text();
    const auto out = meter_->stdout_text();
    meter_port_ = std::stoi(out.substr(out.rfind(':') + 1));
  }

  ScratchDir dir_;
  Mosquitto broker_{dir_.path(), [] {
                      BrokerOptions o;
                      o.username = "gateway";
                      o.password = "s3cret";
                      return o;
                    }()};
  std::unique_ptr<ChildProcess> meter_;
  int meter_port_ = 0;
};

TEST_F(ServiceTest, TalksToSystemdAndReadsThePasswordFromItsCredential) {
  // The layout the unit gives the service.
  const auto etc = dir_.path() / "etc/fieldgate";
  const auto state = dir_.path() / "var/lib/fieldgate";
  const auto credentials = dir_.path() / "run/credentials/fieldgate.service";
  for (const auto& d : {etc, state, credentials}) std::filesystem::create_directories(d);
  std::ofstream(credentials / "mqtt-password") << "s3cret\n";
  const auto config = etc / "fieldgate.toml";
  const auto db = (state / "queue.db").string();
  std::ofstream(config) << gateway_config(db, broker_.uri(), meter_port_);

  Subscriber sub(broker_.uri(), "fieldgate/gw/#", 1, "gateway", "s3cret");
  NotifySocket notify(dir_.path() / "notify.sock");
  ChildProcess run({kBinary, "run", "-c", config.string()}, dir_.path(),
                   {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000",
                    "CREDENTIALS_DIRECTORY=" + credentials.string()});

  const auto saw = [&](const std::string& topic) {
    return wait_until(
        [&] {
          for (const auto& m : sub.messages()) {
            if (m.topic == topic) return true;
          }
          return false;
        },
        15s);
  };
  ASSERT_TRUE(notify.wait_for("READY=1", 15s)) << notify.all() << run.stderr_text();
  EXPECT_THAT(notify.all(), HasSubstr("STATUS=running: 1 devices"));
  ASSERT_TRUE(saw("fieldgate/gw/meter/voltage_l1"))
      << "the broker refused the credential? " << run.stderr_text();

  // WatchdogSec=2s: WATCHDOG=1 every second while the workers and the
  // forwarder make progress.
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", 5s)) << notify.all();
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", 5s)) << notify.all();
  ASSERT_TRUE(notify.wait_for("STATUS=1/1 devices up", 20s)) << notify.all();

  // systemctl reload: a second point, with the service's paths.
  std::ofstream(config) << gateway_config(db, broker_.uri(), meter_port_, R"(
[[devices.points]]
name = "frequency"
kind = "input"
address = 22
type = "float32"
)");
  ::kill(run.pid(), SIGHUP);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", 10s)) << notify.all();
  ASSERT_TRUE(notify.wait_for("READY=1", 10s)) << notify.all() << run.stderr_text();
  EXPECT_TRUE(saw("fieldgate/gw/meter/frequency")) << run.stderr_text();

  ::kill(run.pid(), SIGTERM);
  ASSERT_TRUE(notify.wait_for("STOPPING=1", 10s)) << notify.all();
  EXPECT_EQ(run.wait_exit(15s), 0) << run.stderr_text();
  EXPECT_THAT(run.stderr_text(), ::testing::Not(HasSubstr("s3cret")));
  // The buffer is where the unit's StateDirectory= puts it, and readable offline.
  const auto stats = run_command({kBinary, "queue", "stats", "--db", db}, dir_.path());
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
}

TEST(ServiceExit, AConfigurationErrorExitsWith78SoSystemdDoesNotRestart) {
  ScratchDir dir;
  const auto config = dir.write("fieldgate.toml", "[gateway]\nname = \"gw\"\nbogus = 1\n");
  NotifySocket notify(dir.path() / "notify.sock");
  const auto result = run_command({kBinary, "run", "-c", config.string()}, dir.path(), 30s,
                                  {"NOTIFY_SOCKET=" + notify.path()});
  EXPECT_EQ(result.exit_code, 78);
  EXPECT_THAT(result.err, HasSubstr("fieldgate.toml:3:1: gateway.bogus"));
  EXPECT_FALSE(notify.wait_for("READY=1", 200ms)) << "never ready with a broken configuration";
}

/// A store whose peek() hangs while `hang` is set: a forwarder stuck inside
/// a store call, as on a dying SD card.
class HangingStore final : public bridge::Store {
 public:
  void append(Batch&& batch) override { inner_.append(std::move(batch)); }
  void flush() override { inner_.flush(); }
  std::vector<Reading> peek(std::uint64_t after, std::size_t n) override {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !hang_; });
    return inner_.peek(after, n);
  }
  void ack(std::span<const std::uint64_t> seqs) override { inner_.ack(seqs); }
  void dead_letter(std::span<const bridge::DeadLetter> letters) override {
    inner_.dead_letter(letters);
  }
  bridge::StoreStats stats() override { return inner_.stats(); }
  void set_commit_listener(std::function<void()> listener) override {
    inner_.set_commit_listener(std::move(listener));
  }
  void set_hang(bool hang) {
    {
      std::lock_guard lock(mutex_);
      hang_ = hang;
    }
    cv_.notify_all();
  }

 private:
  FakeStore inner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool hang_ = false;
};

TEST(ForwarderWatchdog, AForwarderStuckInTheStoreStopsTheWatchdog) {
  ScratchDir dir;
  Mosquitto broker(dir.path());
  HangingStore store;
  config::Config c = mqtt_config(broker.uri());
  add_device(c, "meter", {"p"});
  ForwarderRig fw(c, store);
  // Declared after the forwarder, so it runs first: a failed check must not
  // leave the forwarder's thread hanging in the destructor's join.
  const struct Release {
    HangingStore& store;
    ~Release() { store.set_hang(false); }
  } release{store};
  fw->start();
  ASSERT_TRUE(wait_until([&] { return fw->stats().connected; }, 15s));
  const std::vector<gateway::ProgressWatchdog::Part> parts{
      {"the MQTT forwarder", &fw->heartbeat()}};
  gateway::ProgressWatchdog watchdog(2s, 500ms);
  const auto healthy_until = std::chrono::steady_clock::now() + 3s;
  int pets = 0;
  while (std::chrono::steady_clock::now() < healthy_until) {
    pets += watchdog.tick(parts, std::chrono::steady_clock::now()) ? 1 : 0;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(pets, 2) << "an idle, connected forwarder keeps its promises";
  EXPECT_TRUE(watchdog.stalled().empty());

  store.set_hang(true);
  store.append(Batch{Reading{"meter", "p", 1.0, "", Quality::kGood, 0, 0, {}}});  // wakes it
  // Its promise was "back within a second"; stuck, it is soon past the grace.
  EXPECT_TRUE(wait_until(
      [&] {
        return !watchdog.tick(parts, std::chrono::steady_clock::now()) &&
               !watchdog.stalled().empty();
      },
      10s));
  EXPECT_THAT(watchdog.stalled().at(0), HasSubstr("the MQTT forwarder"));

  store.set_hang(false);
  EXPECT_TRUE(
      wait_until([&] { return watchdog.tick(parts, std::chrono::steady_clock::now()); }, 10s))
      << "the heartbeat resumes once the store answers";
  EXPECT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 10s))
      << "and the reading goes out";
}

/// The packaged unit, with ExecStart= pointing at this build.
std::filesystem::path unit_for_this_build(const ScratchDir& dir) {
  std::ifstream in(kSource / "systemd/fieldgate.service");
  std::stringstream text;
  text << in.rdbuf();
  std::string unit = std::regex_replace(text.str(), std::regex("/usr/bin/fieldgate"), kBinary);
  // The man page is installed by the package, not in this tree.
  unit = std::regex_replace(unit, std::regex("man:fieldgate\\(1\\) "), "");
  return dir.write("fieldgate.service", unit);
}

TEST(SystemdUnit, Verifies) {
  ScratchDir dir;
  const auto unit = unit_for_this_build(dir);
  const auto result = run_command({"systemd-analyze", "verify", unit.string()}, dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  // Remarks on a line of the unit ("fieldgate.service:40: Invalid syntax")
  // do not fail verify; they are still mistakes.
  EXPECT_THAT(result.out + result.err, ::testing::Not(HasSubstr("fieldgate.service:")))
      << "systemd-analyze has remarks on the unit";
}

TEST(SystemdUnit, ExposureStaysLow) {
  // README reports the score; a change that loosens the sandbox must say so.
  ScratchDir dir;
  const auto unit = unit_for_this_build(dir);
  const auto result = run_command(
      {"systemd-analyze", "security", "--offline=true", "--no-pager", unit.string()}, dir.path());
  std::smatch m;
  const std::string out = result.out + result.err;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("Overall exposure level for [^:]+: ([0-9.]+)")))
      << out;
  EXPECT_LE(std::stod(m[1].str()), 2.0) << out;
}

}  // namespace
}  // namespace fieldgate::testing
