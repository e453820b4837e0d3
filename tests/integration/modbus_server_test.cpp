// `fieldgate run` with [modbus_server] end to end: the binary polls a pymodbus
// server (an implementation nobody here wrote) and serves what it polled on
// its own port. pymodbus' client and mbpoll (a real master from Debian) read
// through fieldgate exactly the registers they read from pymodbus directly,
// hostile clients do not stop polling (a cached read stays fresh only while
// polls go on), a write is refused, and the stats message counts it all.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
const std::string kReader = FIELDGATE_SOURCE_DIR "/tests/integration/modbus_server_read.py";

class ModbusServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string failure;
    for (int attempt = 0; attempt < 3 && !device_; ++attempt) {
      device_port_ = free_loopback_port();
      try {
        device_ = start_peer(
            {FIELDGATE_PYTHON, FIELDGATE_SOURCE_DIR "/tests/integration/pymodbus_server.py",
             std::to_string(device_port_)},
            dir_.path(), "ready", 20s);
      } catch (const std::runtime_error& e) {
        failure = e.what();
      }
    }
    ASSERT_TRUE(device_) << "pymodbus server did not start: " << failure;
    broker_ = std::make_unique<Mosquitto>(dir_.path());
    server_port_ = free_loopback_port();
    const auto config =
        dir_.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
[mqtt]
broker = "{}"
status_interval = "1s"
[modbus_server]
listen = "127.0.0.1:{}"
max_clients = 8
idle_timeout = "2s"
[modbus_server.units]
plc = 1
[[devices]]
name = "plc"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "100ms"
max_gap = 40
  [[devices.points]]
  name = "first"
  kind = "holding"
  address = 0
  type = "uint16"
  [[devices.points]]
  name = "last"
  kind = "holding"
  address = 33
  type = "uint16"
  [[devices.points]]
  name = "frequency"
  kind = "input"
  address = 0
  type = "float32"
  [[devices.points]]
  name = "coil0"
  kind = "coil"
  address = 0
  type = "bool"
  [[devices.points]]
  name = "coil2"
  kind = "coil"
  address = 2
  type = "bool"
  [[devices.points]]
  name = "di0"
  kind = "discrete_input"
  address = 0
  type = "bool"
  [[devices.points]]
  name = "di1"
  kind = "discrete_input"
  address = 1
  type = "bool"
)",
                                               (dir_.path() / "buffer.db").string(), broker_->uri(),
                                               server_port_, device_port_));
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "run", "-c", config.string()}, dir_.path());
  }

  /// The four tables as modbus_server_read.py prints them from `port`.
  nlohmann::json read_tables(int port) {
    const auto r =
        run_command({FIELDGATE_PYTHON, kReader, std::to_string(port), "1"}, dir_.path(), 60s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  /// Reads through fieldgate until the cache answers (the first polls done).
  nlohmann::json read_through_fieldgate() {
    nlohmann::json tables;
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      tables = read_tables(server_port_);
      if (tables.is_object() && !tables.contains("error")) return tables;
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "no answer through fieldgate: " << tables.dump() << "\n" << gateway_->report();
    return tables;
  }

  ScratchDir dir_;
  int device_port_ = 0;
  int server_port_ = 0;
  std::unique_ptr<ChildProcess> device_;
  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<ChildProcess> gateway_;
};

using Bytes = std::vector<std::uint8_t>;

/// A raw TCP client that sends what it is given and then holds the connection.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  void send(const Bytes& bytes) {
    EXPECT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

 private:
  int fd_;
};

/// The values mbpoll prints for `count` items of `type` (mbpoll's -t) from unit 1.
std::vector<long> mbpoll_read(const ScratchDir& dir, int port, const std::string& type, int count) {
  const auto r =
      run_command({"mbpoll", "-m", "tcp", "-a", "1", "-0", "-r", "0", "-c", std::to_string(count),
                   "-t", type, "-1", "-o", "5", "-p", std::to_string(port), "127.0.0.1"},
                  dir.path(), 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<long> values;
  static const std::regex kLine(R"(^\[(\d+)\]:\s+(-?\d+))");
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, kLine)) values.push_back(std::stol(m[2]));
  }
  return values;
}

TEST_F(ModbusServerTest, MastersReadThroughFieldgateWhatTheDeviceHolds) {
  const auto direct = read_tables(device_port_);
  ASSERT_FALSE(direct.contains("error")) << direct.dump();
  const auto served = read_through_fieldgate();
  EXPECT_EQ(served, direct);

  // mbpoll, a master from Debian, reads the same four tables.
  const std::array<std::tuple<std::string, std::string, int>, 4> kTables{
      {{"4", "hr", 34}, {"3", "ir", 2}, {"0", "co", 3}, {"1", "di", 2}}};
  for (const auto& [type, table, count] : kTables) {
    const auto expected = direct.at(table).get<std::vector<long>>();
    EXPECT_EQ(mbpoll_read(dir_, server_port_, type, count), expected) << table;
    EXPECT_EQ(mbpoll_read(dir_, device_port_, type, count), expected) << table;
  }
  // A register fieldgate does not poll is an exception, not a guess.
  const auto r = run_command({"mbpoll", "-m", "tcp", "-a", "1", "-0", "-r", "40", "-c", "1", "-1",
                              "-o", "5", "-p", std::to_string(server_port_), "127.0.0.1"},
                             dir_.path(), 60s);
  EXPECT_NE((r.out + r.err).find("Illegal data address"), std::string::npos) << r.out << r.err;
}

TEST_F(ModbusServerTest, AWriteIsRefusedAndTheDeviceKeepsItsValue) {
  const auto before = read_through_fieldgate();
  const auto r = run_command({"mbpoll", "-m", "tcp", "-a", "1", "-0", "-r", "9", "-t", "4", "-o",
                              "5", "-p", std::to_string(server_port_), "127.0.0.1", "42"},
                             dir_.path(), 60s);
  EXPECT_NE((r.out + r.err).find("Illegal data address"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(read_tables(device_port_).at("hr"), before.at("hr"));
}

TEST_F(ModbusServerTest, HostileClientsDoNotStopPollingAndAreCounted) {
  Subscriber stats(broker_->uri(), "fieldgate/gw/status/stats", 1);
  ASSERT_TRUE(stats.wait_connected(20s));
  const auto direct = read_through_fieldgate();
  // Garbage, a wrong protocol id, a lying length, half a frame, silence, and
  // more connections than max_clients (8), all at once. The silent ones hold
  // their slots until idle_timeout (2 s): a master may have to connect again.
  {
    std::vector<std::unique_ptr<RawClient>> hostile;
    const std::vector<Bytes> bad{
        {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'},
        {0, 1, 0, 7, 0, 6, 1, 3, 0, 0, 0, 1},  // protocol id 7
        {0, 1, 0, 0, 0xff, 0xff, 1, 3},        // a length no frame has
        {0, 1, 0, 0, 0, 6, 1}};                // half a frame
    for (const auto& bytes : bad) {
      hostile.push_back(std::make_unique<RawClient>(server_port_));
      hostile.back()->send(bytes);
    }
    for (int i = 0; i < 20; ++i) hostile.push_back(std::make_unique<RawClient>(server_port_));
    // Meanwhile masters keep reading, and the cache stays fresh: polls go on
    // (with no poll for 200 ms, twice the interval, a read is an exception).
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(read_through_fieldgate(), direct) << i;
      std::this_thread::sleep_for(300ms);
    }
  }
  EXPECT_EQ(read_through_fieldgate(), direct);

  // The stats message counts what happened. It is published on its own
  // interval, so the first one with the hostile counts may predate the last
  // reads: wait for one that has all of it.
  nlohmann::json server;
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    const auto messages = stats.messages();
    if (!messages.empty()) {
      const auto j = nlohmann::json::parse(messages.back().payload, nullptr, false);
      if (j.is_object() && j.contains("modbus_server")) server = j.at("modbus_server");
      if (server.is_object() && server.at("closed_bad_frame").get<int>() >= 4 &&
          server.at("over_limit").get<int>() >= 1 && server.at("cache_hits").get<int>() >= 40 &&
          server.at("requests_by_function").at("3").get<int>() >= 10) {
        break;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(server.is_object()) << "no modbus_server in the stats";
  EXPECT_GE(server.at("closed_bad_frame").get<int>(), 4) << server.dump();
  EXPECT_GE(server.at("over_limit").get<int>(), 1) << server.dump();
  EXPECT_GE(server.at("cache_hits").get<int>(), 40) << server.dump();
  EXPECT_GE(server.at("requests_by_function").at("3").get<int>(), 10) << server.dump();
  EXPECT_TRUE(gateway_->running()) << gateway_->report();
}

}  // namespace
}  // namespace fieldgate::testing
