// ModbusSimServer: the libmodbus TCP server on an ephemeral loopback port and
// the RTU server on a pseudo-terminal, each run in a thread of this process and
// read with a libmodbus client.
#include "drivers/sim/modbus_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drivers/modbus/codec.hpp"

namespace fieldgate::sim {
namespace {

using modbus::ByteOrder;
using modbus::ValueType;
using ::testing::HasSubstr;

struct ModbusFree {
  void operator()(modbus_t* ctx) const noexcept { modbus_free(ctx); }
};
using ModbusPtr = std::unique_ptr<modbus_t, ModbusFree>;

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// Runs a server's loop in a thread for the lifetime of the object.
class Running {
 public:
  explicit Running(ModbusSimServer& server) : thread_([this, &server] { server.run(stop_); }) {}
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  ~Running() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// requests_served() is counted after the reply has gone out, so a client can
// see the answer a moment before the counter moves: wait for it (bounded).
std::uint64_t served_once_settled(const ModbusSimServer& server, std::uint64_t expected) {
  for (int i = 0; i < 200 && server.requests_served() < expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return server.requests_served();
}

ModbusPtr tcp_client(int port) {
  ModbusPtr ctx(modbus_new_tcp("127.0.0.1", port));
  EXPECT_NE(ctx, nullptr);
  if (ctx && modbus_connect(ctx.get()) != 0) {
    ADD_FAILURE() << "connect: " << modbus_strerror(errno);
    return nullptr;
  }
  modbus_set_response_timeout(ctx.get(), 2, 0);
  return ctx;
}

std::vector<std::uint16_t> read_input(modbus_t* ctx, int address, int count) {
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(count));
  const int rc = modbus_read_input_registers(ctx, address, count, regs.data());
  EXPECT_EQ(rc, count) << modbus_strerror(errno);
  return regs;
}

std::vector<std::uint16_t> read_holding(modbus_t* ctx, int address, int count) {
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(count));
  const int rc = modbus_read_registers(ctx, address, count, regs.data());
  EXPECT_EQ(rc, count) << modbus_strerror(errno);
  return regs;
}

double float_at(const std::vector<std::uint16_t>& regs, std::size_t i) {
  const Value v = modbus::decode_registers(std::span(regs).subspan(i, 2), ValueType::kFloat32,
                                           ByteOrder::kABCD);
  return std::get<double>(v);
}

TEST(SimServer, TcpServesThePowerMeterMap) {
  auto server = ModbusSimServer::tcp({"127.0.0.1", 0});
  ASSERT_GT(server->port(), 0);
  ASSERT_LE(server->port(), 65535);
  {
    Running running(*server);
    ModbusPtr client = tcp_client(server->port());
    ASSERT_NE(client, nullptr);

    const auto in = read_input(client.get(), 0, 32);
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_GE(float_at(in, 2 * k), 220.0);
      EXPECT_LE(float_at(in, 2 * k), 240.0);
      EXPECT_GE(float_at(in, 6 + 2 * k), 5.0);
      EXPECT_LE(float_at(in, 6 + 2 * k), 15.0);
    }
    EXPECT_NEAR(float_at(in, 22), 50.0, 0.051);
    EXPECT_NEAR(static_cast<std::int16_t>(in[30]) * 0.1, 35.0, 5.0);
    EXPECT_EQ(in[31], 1);

    const auto serial = read_holding(client.get(), 20, 8);
    EXPECT_EQ(modbus::decode_registers(serial, ValueType::kString, ByteOrder::kABCD),
              Value(std::string("FG-PM-000042")));
    const auto energy = read_holding(client.get(), 0, 4);
    const Value wh = modbus::decode_registers(energy, ValueType::kUInt64, ByteOrder::kABCD);
    EXPECT_GE(std::get<std::int64_t>(wh), 4'200'000);
    EXPECT_EQ(read_holding(client.get(), 12, 1), std::vector<std::uint16_t>{100});

    std::uint8_t bits[2] = {9, 9};
    ASSERT_EQ(modbus_read_bits(client.get(), 0, 2, bits), 2);
    EXPECT_EQ(bits[0], 0);  // relay_1
    EXPECT_EQ(bits[1], 1);  // relay_2
    ASSERT_EQ(modbus_read_input_bits(client.get(), 0, 2, bits), 2);
    EXPECT_EQ(bits[0], 1);  // door_closed
    EXPECT_EQ(bits[1], 0);  // tamper
  }
  // Every request above was answered, and counted once (read after the join).
  EXPECT_EQ(server->requests_served(), 6U);
}

TEST(SimServer, TcpReadsPastTheMapAreIllegalDataAddress) {
  auto server = ModbusSimServer::tcp({"127.0.0.1", 0});
  Running running(*server);
  ModbusPtr client = tcp_client(server->port());
  ASSERT_NE(client, nullptr);
  std::uint16_t regs[4];
  EXPECT_EQ(modbus_read_input_registers(client.get(), 30, 4, regs), -1);
  EXPECT_EQ(errno, EMBXILADD);
  EXPECT_EQ(modbus_read_registers(client.get(), 28, 1, regs), -1);
  EXPECT_EQ(errno, EMBXILADD);
  std::uint8_t bits[3];
  EXPECT_EQ(modbus_read_bits(client.get(), 0, 3, bits), -1);
  EXPECT_EQ(errno, EMBXILADD);
  // The connection survives an exception.
  EXPECT_EQ(read_input(client.get(), 30, 2).size(), 2U);
}

TEST(SimServer, TcpWritesToCoilsAndHoldingStick) {
  auto server = ModbusSimServer::tcp({"127.0.0.1", 0});
  Running running(*server);
  ModbusPtr client = tcp_client(server->port());
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(modbus_write_bit(client.get(), 0, 1), 1);
  ASSERT_EQ(modbus_write_register(client.get(), 12, 200), 1);
  // Past the model's next refresh (every 100 ms) the written values remain.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::uint8_t bits[2];
  ASSERT_EQ(modbus_read_bits(client.get(), 0, 2, bits), 2);
  EXPECT_EQ(bits[0], 1);
  EXPECT_EQ(read_holding(client.get(), 12, 1), std::vector<std::uint16_t>{200});
  // Writes past the holding table are refused like reads.
  EXPECT_EQ(modbus_write_register(client.get(), 28, 1), -1);
  EXPECT_EQ(errno, EMBXILADD);
}

TEST(SimServer, TcpServesSeveralClientsAtOnce) {
  auto server = ModbusSimServer::tcp({"127.0.0.1", 0});
  Running running(*server);
  ModbusPtr a = tcp_client(server->port());
  ModbusPtr b = tcp_client(server->port());
  ModbusPtr c = tcp_client(server->port());
  ASSERT_TRUE(a && b && c);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(read_holding(a.get(), 12, 1), std::vector<std::uint16_t>{100});
    EXPECT_EQ(read_holding(c.get(), 20, 1), std::vector<std::uint16_t>{0x4647});
    EXPECT_EQ(read_input(b.get(), 31, 1), std::vector<std::uint16_t>{1});
  }
  // One client leaving does not disturb the others.
  b.reset();
  EXPECT_EQ(read_holding(a.get(), 12, 1), std::vector<std::uint16_t>{100});
}

int raw_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

// Reads what arrives within `timeout_ms` (at most `max` bytes).
std::vector<std::uint8_t> read_some(int fd, std::size_t max, int timeout_ms) {
  std::vector<std::uint8_t> out(max);
  std::size_t got = 0;
  pollfd p{fd, POLLIN, 0};
  while (got < max && ::poll(&p, 1, timeout_ms) == 1) {
    const ssize_t n = ::recv(fd, out.data() + got, max - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

TEST(SimServer, TcpSurvivesGarbageAndAbruptDisconnects) {
  auto server = ModbusSimServer::tcp({"127.0.0.1", 0});
  Running running(*server);

  {  // An unknown function code gets an ILLEGAL FUNCTION exception.
    FdCloser fd(raw_connect(server->port()));
    const std::uint8_t request[] = {0x12, 0x34, 0x00, 0x00, 0x00, 0x02, 0x01, 0x41};
    ASSERT_EQ(::send(fd.get(), request, sizeof request, MSG_NOSIGNAL),
              static_cast<ssize_t>(sizeof request));
    const auto reply = read_some(fd.get(), 9, 2000);
    EXPECT_EQ(reply,
              (std::vector<std::uint8_t>{0x12, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0xC1, 0x01}));
  }
  {  // Half a frame, then gone.
    FdCloser fd(raw_connect(server->port()));
    const std::uint8_t partial[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00};
    ::send(fd.get(), partial, sizeof partial, MSG_NOSIGNAL);
  }
  {  // A request, and gone before the answer.
    FdCloser fd(raw_connect(server->port()));
    const std::uint8_t request[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06,
                                    0x01, 0x04, 0x00, 0x00, 0x00, 0x20};
    ::send(fd.get(), request, sizeof request, MSG_NOSIGNAL);
  }
  {  // Random bytes.
    FdCloser fd(raw_connect(server->port()));
    std::vector<std::uint8_t> noise(300);
    for (std::size_t i = 0; i < noise.size(); ++i)
      noise[i] = static_cast<std::uint8_t>(i * 37 + 11);
    ::send(fd.get(), noise.data(), noise.size(), MSG_NOSIGNAL);
    read_some(fd.get(), 512, 200);
  }
  // Still serving.
  ModbusPtr client = tcp_client(server->port());
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(read_holding(client.get(), 12, 1), std::vector<std::uint16_t>{100});
}

TEST(SimServer, TcpPortInUseIsReported) {
  auto first = ModbusSimServer::tcp({"127.0.0.1", 0});
  const int port = first->port();
  try {
    auto second = ModbusSimServer::tcp({"127.0.0.1", port});
    FAIL() << "a second server bound the same port";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  }
}

TEST(SimServer, BadHostAndProfileAreReported) {
  try {
    auto s = ModbusSimServer::tcp({"localhost", 0});
    FAIL() << "a host name was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot listen on localhost:0"));
    EXPECT_THAT(e.what(), HasSubstr("not an IPv4 address"));
  }
  try {
    auto s = ModbusSimServer::tcp({"127.0.0.1", 0}, "heat-pump");
    FAIL() << "an unknown profile was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"heat-pump\""));
    EXPECT_THAT(e.what(), HasSubstr("power-meter"));
  }
  RtuServerOptions rtu;
  rtu.device = "/dev/fieldgate-no-such-port";
  try {
    auto s = ModbusSimServer::rtu(rtu);
    FAIL() << "a missing serial port was opened";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot open /dev/fieldgate-no-such-port: No such file or directory");
  }
}

// ---- RTU over a pseudo-terminal ---------------------------------------------
// The server opens the pty's slave side by path, as it would a serial port;
// the test talks through the master side. A libmodbus RTU client can use the
// master fd via modbus_set_socket() (it only read()s and write()s it).

class Pty {
 public:
  Pty() : master_(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) {
    EXPECT_GE(master_.get(), 0);
    EXPECT_EQ(::grantpt(master_.get()), 0);
    EXPECT_EQ(::unlockpt(master_.get()), 0);
    char name[128] = {};
    EXPECT_EQ(::ptsname_r(master_.get(), name, sizeof name), 0);
    slave_path_ = name;
  }
  [[nodiscard]] int master() const { return master_.get(); }
  [[nodiscard]] const std::string& slave_path() const { return slave_path_; }

 private:
  FdCloser master_;
  std::string slave_path_;
};

ModbusPtr rtu_client_on(int fd, int unit_id) {
  // The device name is never opened: the fd is handed over below.
  ModbusPtr ctx(modbus_new_rtu("/dev/null", 9600, 'N', 8, 1));
  EXPECT_NE(ctx, nullptr);
  modbus_set_socket(ctx.get(), fd);
  modbus_set_slave(ctx.get(), unit_id);
  modbus_set_response_timeout(ctx.get(), 1, 0);
  return ctx;
}

TEST(SimServer, RtuAnswersItsUnitIdOnly) {
  Pty pty;
  RtuServerOptions options;
  options.device = pty.slave_path();
  options.unit_id = 7;
  auto server = ModbusSimServer::rtu(options);
  EXPECT_EQ(server->port(), 0);
  Running running(*server);
  ModbusPtr client = rtu_client_on(pty.master(), 7);

  std::uint16_t regs[8];
  ASSERT_EQ(modbus_read_registers(client.get(), 20, 8, regs), 8) << modbus_strerror(errno);
  EXPECT_EQ(modbus::decode_registers(regs, ValueType::kString, ByteOrder::kABCD),
            Value(std::string("FG-PM-000042")));
  ASSERT_EQ(modbus_read_input_registers(client.get(), 31, 1, regs), 1);
  EXPECT_EQ(regs[0], 1);
  EXPECT_EQ(served_once_settled(*server, 2), 2U);

  // Unit 8 does not exist on this bus: no answer at all, so the client times out.
  modbus_set_slave(client.get(), 8);
  EXPECT_EQ(modbus_read_registers(client.get(), 12, 1, regs), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_EQ(server->requests_served(), 2U);

  // Unit 7 is answered again. (The server skips one frame arriving within
  // 100 ms of a foreign request, the other unit's reply on a real bus; our
  // client waited a full second, so nothing is skipped.)
  modbus_set_slave(client.get(), 7);
  ASSERT_EQ(modbus_read_registers(client.get(), 12, 1, regs), 1) << modbus_strerror(errno);
  EXPECT_EQ(regs[0], 100);
  // Exceptions travel over RTU too.
  EXPECT_EQ(modbus_read_registers(client.get(), 27, 2, regs), -1);
  EXPECT_EQ(errno, EMBXILADD);
  modbus_set_socket(client.get(), -1);
}

TEST(SimServer, RtuBroadcastWriteIsExecutedButNotAnswered) {
  Pty pty;
  RtuServerOptions options;
  options.device = pty.slave_path();
  auto server = ModbusSimServer::rtu(options);
  Running running(*server);
  ModbusPtr broadcast = rtu_client_on(pty.master(), MODBUS_BROADCAST_ADDRESS);
  modbus_set_response_timeout(broadcast.get(), 0, 300'000);
  // libmodbus 3.1.6 still waits for a reply to a broadcast; none must come.
  EXPECT_EQ(modbus_write_register(broadcast.get(), 12, 250), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  modbus_set_socket(broadcast.get(), -1);

  ModbusPtr client = rtu_client_on(pty.master(), 1);
  std::uint16_t reg = 0;
  ASSERT_EQ(modbus_read_registers(client.get(), 12, 1, &reg), 1) << modbus_strerror(errno);
  EXPECT_EQ(reg, 250);
  modbus_set_socket(client.get(), -1);
}

// The premise of the RTU server's silence towards other units, checked on
// libmodbus itself: modbus_receive() returns 0 for a well-formed frame
// addressed to another unit id, and a positive length for ours.
TEST(SimServer, LibmodbusRtuReceiveReturnsZeroForAnotherUnit) {
  Pty pty;
  ModbusPtr server(modbus_new_rtu(pty.slave_path().c_str(), 9600, 'N', 8, 1));
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(modbus_set_slave(server.get(), 1), 0);
  ASSERT_EQ(modbus_connect(server.get()), 0) << modbus_strerror(errno);
  modbus_set_indication_timeout(server.get(), 1, 0);
  modbus_set_response_timeout(server.get(), 0, 100'000);

  // Read holding register 0, count 1, for unit 2 and then unit 1 (CRC low byte first).
  const std::uint8_t to_unit_2[] = {0x02, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x39};
  const std::uint8_t to_unit_1[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0A};
  std::uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];

  ASSERT_EQ(::write(pty.master(), to_unit_2, sizeof to_unit_2),
            static_cast<ssize_t>(sizeof to_unit_2));
  EXPECT_EQ(modbus_receive(server.get(), query), 0);
  // The next call waits (response timeout) for the other unit's reply; none comes.
  EXPECT_EQ(modbus_receive(server.get(), query), 0);

  ASSERT_EQ(::write(pty.master(), to_unit_1, sizeof to_unit_1),
            static_cast<ssize_t>(sizeof to_unit_1));
  EXPECT_EQ(modbus_receive(server.get(), query), static_cast<int>(sizeof to_unit_1));
  EXPECT_EQ(query[0], 1);
  modbus_close(server.get());
}

}  // namespace
}  // namespace fieldgate::sim
