// `fieldgate run` with [modbus_server] in front of an RTU meter on a pty pair
// (socat; the simulator on the far end, as on an RS-485 line): the issue's
// "done when". mbpoll (a master from Debian) and pymodbus read through
// fieldgate's TCP port the same values fieldgate publishes to MQTT; writes by
// mbpoll reach the meter through the MQTT `/set` path (audit log, result
// message) and show in the next poll; writes to registers no writable point
// is are refused and never reach the bus; with passthrough, unpolled
// registers are read from the meter, and a unit that does not answer or an
// address the meter refuses gives 0x0B. Hostile: a write flood, lying byte
// counts, a master leaving while its write is on the bus.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using Bytes = std::vector<std::uint8_t>;

class ModbusServerRtuTest : public ::testing::Test {
 protected:
  ModbusServerRtuTest()
      : ptys_(dir_.path()),
        sim_([this] {
          sim::RtuServerOptions options;
          options.device = ptys_.a();
          options.baud = 19200;
          options.unit_id = 1;
          return sim::ModbusSimServer::rtu(options);
        }()),
        broker_(dir_.path()),
        readings_(broker_.uri(), "fieldgate/gw/meter/#", 1),
        stats_(broker_.uri(), "fieldgate/gw/status/stats", 1) {}

  void SetUp() override {
    ASSERT_TRUE(readings_.wait_connected(20s));
    ASSERT_TRUE(stats_.wait_connected(20s));
    port_ = free_loopback_port();
    const auto config = dir_.write("gateway.toml", fmt::format(R"(
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
max_clients = 16
passthrough = true
passthrough_timeout = "5s"
max_age = "3s"  # a loaded machine must not turn a late poll into a failed test
[modbus_server.units]
dead = 7
[[buses]]
name = "rs485"
port = "{}"
baud = 19200
parity = "none"
[[devices]]
name = "meter"
driver = "modbus-rtu"
bus = "rs485"
unit_id = 1
poll_interval = "200ms"
response_timeout = "1s"
max_gap = 0
  [[devices.points]]
  name = "ct_ratio"
  kind = "holding"
  address = 12
  [[devices.points]]
  name = "setpoint"
  kind = "holding"
  address = 15
  type = "int16"
  scale = 0.1
  writable = true
  min = 5
  max = 30
  [[devices.points]]
  name = "serial_number"
  kind = "holding"
  address = 20
  type = "string"
  count = 8
  [[devices.points]]
  name = "relay_2"
  kind = "coil"
  address = 1
  writable = true
[[devices]]
name = "dead"
driver = "modbus-rtu"
bus = "rs485"
unit_id = 9
poll_interval = "10s"
response_timeout = "300ms"
retries = 0
  [[devices.points]]
  name = "x"
  kind = "holding"
  address = 0
)",
                                                               (dir_.path() / "buffer.db").string(),
                                                               broker_.uri(), port_, ptys_.b()));
    gateway_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "run", "-c", config.string()}, dir_.path());
  }

  /// mbpoll against fieldgate's port with `args`, then the host, then
  /// `values` (a write); its output (an exception is a non-zero exit).
  std::string mbpoll(const std::vector<std::string>& args,
                     const std::vector<std::string>& values = {}) {
    std::vector<std::string> argv{
        "mbpoll", "-m", "tcp", "-0", "-1", "-o", "10", "-p", std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.emplace_back("127.0.0.1");
    argv.insert(argv.end(), values.begin(), values.end());
    const auto r = run_command(argv, dir_.path(), 60s);
    return r.out + r.err;
  }

  /// The values mbpoll prints, "[12]: 100" lines.
  static std::vector<long> values_of(const std::string& out) {
    std::vector<long> values;
    static const std::regex kLine(R"(^\[(\d+)\]:\s+(-?\d+))");
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (std::regex_search(line, m, kLine)) values.push_back(std::stol(m[2]));
    }
    return values;
  }

  /// mbpoll reading `count` holding registers from `first` of unit `unit`.
  std::string read_holding(int first, int count, int unit = 1) {
    return mbpoll({"-a", std::to_string(unit), "-t", "4", "-r", std::to_string(first), "-c",
                   std::to_string(count)});
  }
  /// mbpoll writing `value` to holding register `address` (FC6).
  std::string write_holding(int address, int value) {
    return mbpoll({"-a", "1", "-t", "4", "-r", std::to_string(address)}, {std::to_string(value)});
  }

  /// Waits until fieldgate answers reads of the polled registers.
  std::vector<long> wait_served(int first, int count) {
    std::vector<long> values;
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      values = values_of(read_holding(first, count));
      if (values.size() == static_cast<std::size_t>(count)) return values;
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "fieldgate never served holding " << first << "\n" << gateway_->report();
    return values;
  }

  /// The last value published for `point`, waiting until `accept` takes one.
  Json wait_reading(const std::string& point, const std::function<bool(const Json&)>& accept) {
    const auto topic = "fieldgate/gw/meter/" + point;
    Json last;
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      for (const auto& m : readings_.messages()) {
        if (m.topic != topic) continue;
        const auto j = Json::parse(m.payload, nullptr, false);
        if (j.is_object() && j.contains("value")) last = j.at("value");
      }
      if (!last.is_null() && accept(last)) return last;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "no accepted reading of " << point << ", last " << last.dump();
    return last;
  }

  /// The newest modbus_server stats object once `accept` takes it.
  Json wait_stats(const std::function<bool(const Json&)>& accept) {
    Json server;
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until) {
      const auto messages = stats_.messages();
      if (!messages.empty()) {
        const auto j = Json::parse(messages.back().payload, nullptr, false);
        if (j.is_object() && j.contains("modbus_server")) server = j.at("modbus_server");
        if (server.is_object() && accept(server)) return server;
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << "stats never matched: " << server.dump();
    return server;
  }

  ScratchDir dir_;
  PtyPair ptys_;
  SimThread sim_;
  Mosquitto broker_;
  Subscriber readings_;
  Subscriber stats_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> gateway_;
};

/// A raw TCP client for frames no master library would send.
class RawRtuClient {
 public:
  explicit RawRtuClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~RawRtuClient() { close(); }
  RawRtuClient(const RawRtuClient&) = delete;
  RawRtuClient& operator=(const RawRtuClient&) = delete;
  void send(const Bytes& bytes) {
    EXPECT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  /// The next response's PDU (function and data), empty if none came.
  Bytes receive_pdu() {
    Bytes header(7);
    if (!read_exactly(header.data(), 7)) return {};
    const std::size_t length = (header[4] << 8) | header[5];
    Bytes pdu(length > 1 ? length - 1 : 0);
    if (!read_exactly(pdu.data(), pdu.size())) return {};
    return pdu;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool read_exactly(std::uint8_t* at, std::size_t n) {
    while (n > 0) {
      const auto got = ::recv(fd_, at, n, 0);
      if (got <= 0) return false;
      at += got;
      n -= static_cast<std::size_t>(got);
    }
    return true;
  }
  int fd_;
};

Bytes frame(std::uint8_t unit, const Bytes& pdu, std::uint16_t tid = 1) {
  Bytes out{static_cast<std::uint8_t>(tid >> 8),
            static_cast<std::uint8_t>(tid),
            0,
            0,
            0,
            static_cast<std::uint8_t>(pdu.size() + 1),
            unit};
  out.insert(out.end(), pdu.begin(), pdu.end());
  return out;
}

TEST_F(ModbusServerRtuTest, MastersReadWhatFieldgatePublishesAndWriteThroughTheSetPath) {
  // ct_ratio (holding 12) is 100 on the meter, the serial number "FG-PM-000042".
  const auto served = wait_served(12, 1);
  EXPECT_EQ(served, (std::vector<long>{100}));
  EXPECT_EQ(wait_reading("ct_ratio", [](const Json& v) { return v.is_number(); }), Json(100));
  const auto serial = wait_served(20, 8);
  std::string text;
  for (const auto word : serial) {
    for (const auto byte : {word >> 8, word & 0xff}) {
      if (byte != 0) text += static_cast<char>(byte);
    }
  }
  EXPECT_EQ(text, "FG-PM-000042");
  EXPECT_EQ(wait_reading("serial_number", [](const Json& v) { return v.is_string(); }),
            Json("FG-PM-000042"));
  // pymodbus, another master, reads the same through fieldgate.
  const auto py =
      run_command({FIELDGATE_PYTHON, "-c",
                   fmt::format("from pymodbus.client import ModbusTcpClient\n"
                               "c = ModbusTcpClient('127.0.0.1', port={}, timeout=10, retries=0)\n"
                               "c.connect()\n"
                               "print(c.read_holding_registers(12, 1, slave=1).registers)\n",
                               port_)},
                  dir_.path(), 60s);
  EXPECT_EQ(py.out, "[100]\n") << py.err;

  // A write by mbpoll: 215 on the wire is 21.5 with the point's scale; the
  // meter holds it, the next poll publishes it, the audit log says who.
  EXPECT_NE(write_holding(15, 215).find("Written 1 references"), std::string::npos);
  EXPECT_EQ(wait_reading("setpoint", [](const Json& v) { return v == Json(21.5); }), Json(21.5));
  EXPECT_EQ(values_of(read_holding(15, 1)), (std::vector<long>{215}));
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (gateway_->stderr_text().find("write meter/setpoint = 21.5 (modbus client 127.0.0.1, "
                                      "unit 1, FC6 holding 15, id null): ok") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(gateway_->stderr_text().find("write meter/setpoint = 21.5 (modbus client 127.0.0.1"),
            std::string::npos)
      << gateway_->stderr_text();

  // The point's limits hold for masters too (max 30): 0x03, nothing written.
  EXPECT_NE(write_holding(15, 999).find("Illegal data value"), std::string::npos);
  // A register no writable point is (ct_ratio), and one inside none: 0x02.
  EXPECT_NE(write_holding(12, 7).find("Illegal data address"), std::string::npos);
  EXPECT_NE(write_holding(16, 7).find("Illegal data address"), std::string::npos);
  EXPECT_EQ(values_of(read_holding(12, 1)), (std::vector<long>{100}));
  EXPECT_EQ(values_of(read_holding(15, 1)), (std::vector<long>{215}));

  // A coil, FC5.
  RawRtuClient raw(port_);
  raw.send(frame(1, {5, 0, 1, 0, 0}));
  EXPECT_EQ(raw.receive_pdu(), (Bytes{5, 0, 1, 0, 0}));
  EXPECT_EQ(wait_reading("relay_2", [](const Json& v) { return v == Json(false); }), Json(false));

  const auto server = wait_stats([](const Json& s) {
    return s.at("writes_ok").get<int>() >= 2 && s.at("writes_refused").get<int>() >= 3;
  });
  EXPECT_GE(server.at("writes_ok").get<int>(), 2) << server.dump();
  EXPECT_GE(server.at("writes_refused").get<int>(), 3) << server.dump();
  EXPECT_EQ(server.at("writes_failed").get<int>(), 0) << server.dump();
}

TEST_F(ModbusServerRtuTest, PassthroughReadsTheMeterAndFailsWith0x0B) {
  wait_served(12, 1);
  // Holding 16..19 are not polled: read from the meter (unused, 0).
  EXPECT_EQ(values_of(read_holding(16, 4)), (std::vector<long>{0, 0, 0, 0}));
  // Past the meter's table: the meter refuses, the master gets 0x0B.
  RawRtuClient raw(port_);
  raw.send(frame(1, {3, 0, 40, 0, 2}));
  EXPECT_EQ(raw.receive_pdu(), (Bytes{0x83, 0x0B}));
  // Unit 7 (the device "dead", unit id 9 on the bus) never answers: a timeout, 0x0B.
  raw.send(frame(7, {3, 0, 5, 0, 1}));
  EXPECT_EQ(raw.receive_pdu(), (Bytes{0x83, 0x0B}));
  // Polling went on meanwhile.
  EXPECT_EQ(values_of(read_holding(12, 1)), (std::vector<long>{100}));
  const auto server = wait_stats([](const Json& s) {
    return s.at("passthrough_ok").get<int>() >= 1 && s.at("passthrough_failed").get<int>() >= 2;
  });
  EXPECT_GE(server.at("passthrough_ok").get<int>(), 1) << server.dump();
  EXPECT_GE(server.at("passthrough_failed").get<int>(), 2) << server.dump();
}

TEST_F(ModbusServerRtuTest, HostileWritesNeverReachTheMeterNorStopPolling) {
  wait_served(12, 1);
  // Lying byte counts and lengths: 0x03, nothing written.
  {
    RawRtuClient raw(port_);
    for (const Bytes& pdu : {Bytes{16, 0, 15, 0, 1, 4, 0, 50, 0, 60},  // 4 bytes for 1 register
                             Bytes{16, 0, 15, 0, 2, 2, 0, 50},         // 2 bytes for 2 registers
                             Bytes{15, 0, 1, 0, 1, 0}}) {              // no byte for a coil
      raw.send(frame(1, pdu));
      const auto answer = raw.receive_pdu();
      ASSERT_EQ(answer.size(), 2U);
      EXPECT_EQ(answer[1], 0x03);
    }
  }
  // A master that leaves while its write is on the bus: the write is done
  // (and audited), its answer dropped and counted.
  {
    RawRtuClient leaving(port_);
    leaving.send(frame(1, {6, 0, 15, 0, 222}));
    leaving.close();
  }
  EXPECT_EQ(wait_reading("setpoint", [](const Json& v) { return v == Json(22.2); }), Json(22.2));
  // A flood: 12 masters writing as fast as they can (one request in flight
  // each). Each gets an answer (ok, or 0x06 when too many wait for the bus);
  // a master reading meanwhile is answered and polling goes on.
  {
    std::vector<std::thread> flood;
    std::atomic<int> answered{0};
    std::atomic<int> other{0};
    for (int c = 0; c < 12; ++c) {
      flood.emplace_back([&, c] {
        RawRtuClient client(port_);
        for (int i = 0; i < 20; ++i) {
          const auto value = static_cast<std::uint8_t>(100 + c);
          client.send(frame(1, {6, 0, 15, 0, value}, static_cast<std::uint16_t>(i)));
          const auto answer = client.receive_pdu();
          if (answer == Bytes{6, 0, 15, 0, value} || answer == Bytes{0x86, 0x06}) {
            ++answered;
          } else {
            ++other;
          }
        }
      });
    }
    EXPECT_EQ(values_of(read_holding(12, 1)), (std::vector<long>{100}));
    for (auto& t : flood) t.join();
    EXPECT_EQ(answered.load(), 240);
    EXPECT_EQ(other.load(), 0);
  }
  EXPECT_EQ(values_of(read_holding(12, 1)), (std::vector<long>{100}));
  const auto server = wait_stats([](const Json& s) {
    return s.at("answers_dropped").get<int>() >= 1 && s.at("in_flight").get<int>() == 0;
  });
  EXPECT_GE(server.at("answers_dropped").get<int>(), 1) << server.dump();
  EXPECT_GE(server.at("writes_ok").get<int>(), 1) << server.dump();
  EXPECT_TRUE(gateway_->running()) << gateway_->report();
}

}  // namespace
}  // namespace fieldgate::testing
