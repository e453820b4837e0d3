// `fieldgate write`, the binary, against the libmodbus simulator in this
// process: a write with read-back, and refusals that never reach the bus.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/pty.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

class WriteCliTest : public ::testing::Test {
 protected:
  WriteCliTest() : sim_(sim::ModbusSimServer::tcp({"127.0.0.1", 0})) {
    config_ = dir_.write("gateway.toml", fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
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
name = "ct_ratio"
kind = "holding"
address = 12
[[devices.points]]
name = "relay_2"
kind = "coil"
address = 1
writable = true
[[devices.points]]
name = "label"
kind = "holding"
address = 16
type = "string"
count = 4
writable = true
)",
                                                     sim_.server().port()));
  }

  RunResult write(const std::vector<std::string>& args) {
    std::vector<std::string> argv{kBinary, "write", "-c", config_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, dir_.path());
  }

  ScratchDir dir_;
  SimThread sim_;
  std::filesystem::path config_;
};

TEST_F(WriteCliTest, WritesReadsBackAndPrints) {
  auto r = write({"--device", "meter", "--point", "setpoint", "22.5"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "meter/setpoint: wrote 22.5, read back 22.5\n");
  EXPECT_NE(r.err.find("write meter/setpoint = 22.5 (command line): ok"), std::string::npos)
      << r.err;
  EXPECT_EQ(sim_.server().requests_served(), 2u);  // the write and its read-back

  r = write({"--device", "meter", "--point", "relay_2", "--json", "off"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("status"), "ok");
  EXPECT_EQ(j.at("value"), false);
  EXPECT_EQ(j.at("readback"), false);

  InlineGateway reader(fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
[[devices.points]]
name = "setpoint"
kind = "holding"
address = 15
type = "int16"
scale = 0.1
[[devices.points]]
name = "relay_2"
kind = "coil"
address = 1
)",
                                   sim_.server().port()));
  const auto now = reader.read_all();
  EXPECT_NEAR(value_of<double>(now, "meter/setpoint"), 22.5, 1e-9);
  EXPECT_FALSE(value_of<bool>(now, "meter/relay_2"));
}

TEST_F(WriteCliTest, RefusalsExitThreeWithoutBusTraffic) {
  auto r = write({"--device", "meter", "--point", "ct_ratio", "5"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("meter/ct_ratio: rejected: not writable"), std::string::npos) << r.err;
  r = write({"--device", "meter", "--point", "setpoint", "31"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("out of range: 31 is above max 30"), std::string::npos) << r.err;
  r = write({"--device", "meter", "--point", "relay_2", "maybe"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(sim_.server().requests_served(), 0u);

  r = write({"--device", "meter", "--point", "nope", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("has no point \"nope\""), std::string::npos) << r.err;
}

TEST_F(WriteCliTest, BytesThatAreNotUtf8AreRefusedNotFatal) {
  // Found in issue 14: to a string point they were written, and printing the
  // result threw an uncaught exception (the process aborted).
  auto r = write({"--device", "meter", "--point", "label", "\xff\xfe"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("meter/label: rejected: payload is not valid UTF-8 (byte 0xFF at offset 0)"),
            std::string::npos)
      << r.err;
  r = write({"--device", "meter", "--point", "setpoint", "--json", "\xe9"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("status"), "rejected");
  EXPECT_EQ(sim_.server().requests_served(), 0u);
  // A refused value is never written raw into the log: one line per line.
  r = write({"--device", "meter", "--point", "label", " \n "});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("write meter/label = - (command line): rejected: empty payload\n"),
            std::string::npos)
      << r.err;
}

TEST(WriteCliDeadDeviceTest, NoAnswerExitsTwo) {
  ScratchDir dir;
  const int port = free_loopback_port();  // nobody listens
  const auto config = dir.write("gateway.toml", fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
[[devices.points]]
name = "relay_1"
kind = "coil"
address = 0
writable = true
)",
                                                            port));
  const auto r = run_command(
      {kBinary, "write", "-c", config.string(), "--device", "meter", "--point", "relay_1", "on"},
      dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("meter/relay_1: error: no connection"), std::string::npos) << r.err;
}

// A serial-line device gets its write_template with the value filled in.
TEST(WriteCliSerialTest, SendsTheTemplateOnThePort) {
  ScratchDir dir;
  OpenPty pty;
  const auto config = dir.write("gateway.toml", fmt::format(R"(
[[devices]]
name = "scale"
driver = "serial-line"
port = "{}"
[[devices.points]]
name = "tare"
field = 0
type = "number"
scale = 0.001
writable = true
max = 5
write_template = "T {{value}}\r\n"
)",
                                                            pty.slave_path()));
  const auto r = run_command(
      {kBinary, "write", "-c", config.string(), "--device", "scale", "--point", "tare", "1.25"},
      dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("scale/tare: wrote 1.25, read back null"), std::string::npos) << r.out;
  EXPECT_EQ(pty.read(std::chrono::seconds(5)), "T 1250\r\n");  // grams, as the device counts
}

}  // namespace
}  // namespace fieldgate::testing
