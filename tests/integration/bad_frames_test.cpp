// Malformed answers from devices: each is counted, reported per point with no
// value, and the next good answer is decoded normally. Never a crash, never a
// value decoded from garbage.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/support/gateway_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/scripted_peer.hpp"

namespace fieldgate::testing {
namespace {

constexpr std::uint16_t kGoodHi = 0x4366;  // 230.5 as float32 ABCD
constexpr std::uint16_t kGoodLo = 0x8000;

std::string tcp_config(int port) {
  return fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
response_timeout = "300ms"
byte_timeout = "100ms"
retries = 0
[[devices.points]]
name = "voltage"
kind = "holding"
address = 0
type = "float32"
unit = "V"
)",
                     port);
}

/// Polls twice: the first answer is `bad`, the second a correct 230.5 V.
struct Outcome {
  Reading first;
  Reading second;
  drivers::DeviceHealth health;
};

Outcome poll_bad_then_good(const std::function<Response(const Bytes&)>& bad) {
  ScriptedTcpPeer peer([&](const Bytes& request, int index) {
    if (index == 0) return bad(request);
    return Response{Response::Action::kSend,
                    tcp_frame(request, registers_pdu(3, {kGoodHi, kGoodLo}))};
  });
  InlineGateway gateway(tcp_config(peer.port()));
  Outcome outcome;
  outcome.first = gateway.read_all().at("meter/voltage");
  outcome.second = gateway.read_all().at("meter/voltage");
  outcome.health = gateway.driver(0).health();
  return outcome;
}

void expect_no_value_then_recovery(const Outcome& o, Quality quality) {
  EXPECT_EQ(o.first.quality, quality) << o.first.error;
  EXPECT_TRUE(std::holds_alternative<std::monostate>(o.first.value));
  EXPECT_FALSE(o.first.error.empty());
  ASSERT_EQ(o.second.quality, Quality::kGood) << o.second.error;
  EXPECT_DOUBLE_EQ(std::get<double>(o.second.value), 230.5);
  EXPECT_EQ(o.health.consecutive_failures, 0);
}

TEST(BadFramesTest, ExceptionResponseIsReportedAndCounted) {
  const auto o = poll_bad_then_good([](const Bytes& request) {
    return Response{Response::Action::kSend, tcp_frame(request, {0x83, 0x02})};
  });
  expect_no_value_then_recovery(o, Quality::kException);
  EXPECT_EQ(o.health.exceptions, 1u);
  EXPECT_NE(o.first.error.find("Illegal data address"), std::string::npos) << o.first.error;
}

TEST(BadFramesTest, WrongByteCountIsNotDecoded) {
  const auto o = poll_bad_then_good([](const Bytes& request) {
    return Response{Response::Action::kSend, tcp_frame(request, registers_pdu(3, {kGoodHi}))};
  });
  expect_no_value_then_recovery(o, Quality::kBadResponse);
  EXPECT_EQ(o.health.bad_responses, 1u);
}

TEST(BadFramesTest, WrongFunctionCodeIsNotDecoded) {
  const auto o = poll_bad_then_good([](const Bytes& request) {
    return Response{Response::Action::kSend, tcp_frame(request, registers_pdu(4, {1, 2}))};
  });
  expect_no_value_then_recovery(o, Quality::kBadResponse);
  EXPECT_EQ(o.health.bad_responses, 1u);
}

TEST(BadFramesTest, WrongTransactionIdIsNotDecoded) {
  const auto o = poll_bad_then_good([](const Bytes& request) {
    auto frame = tcp_frame(request, registers_pdu(3, {0x1111, 0x2222}));
    frame[1] = static_cast<std::uint8_t>(frame[1] + 1);
    return Response{Response::Action::kSend, frame};
  });
  expect_no_value_then_recovery(o, Quality::kBadResponse);
  EXPECT_EQ(o.health.bad_responses, 1u);
}

TEST(BadFramesTest, TruncatedFrameTimesOut) {
  const auto o = poll_bad_then_good([](const Bytes& request) {
    auto frame = tcp_frame(request, registers_pdu(3, {kGoodHi, kGoodLo}));
    frame.resize(frame.size() - 2);
    return Response{Response::Action::kSend, frame};
  });
  expect_no_value_then_recovery(o, Quality::kTimeout);
  EXPECT_EQ(o.health.timeouts, 1u);
}

TEST(BadFramesTest, NoAnswerTimesOut) {
  const auto o = poll_bad_then_good([](const Bytes&) {
    return Response{Response::Action::kSilence, {}};
  });
  expect_no_value_then_recovery(o, Quality::kTimeout);
  EXPECT_EQ(o.health.timeouts, 1u);
}

TEST(BadFramesTest, ConnectionResetIsReportedAndTheDriverReconnects) {
  const auto o = poll_bad_then_good([](const Bytes&) {
    return Response{Response::Action::kReset, {}};
  });
  expect_no_value_then_recovery(o, Quality::kNoConnection);
  EXPECT_EQ(o.health.connection_errors, 1u);
}

TEST(BadFramesTest, GarbageIsNeverDecoded) {
  const auto o = poll_bad_then_good([](const Bytes&) {
    return Response{Response::Action::kSend,
                    {0xde, 0xad, 0xbe, 0xef, 0x00, 0x07, 0x01, 0x03, 0x04, 0x43, 0x66, 0x80, 0x00}};
  });
  EXPECT_NE(o.first.quality, Quality::kGood);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(o.first.value));
  ASSERT_EQ(o.second.quality, Quality::kGood) << o.second.error;
  EXPECT_DOUBLE_EQ(std::get<double>(o.second.value), 230.5);
}

std::string rtu_config(const std::string& tty) {
  return fmt::format(R"(
[[buses]]
name = "line"
port = "{}"
baud = 19200
[[devices]]
name = "meter"
driver = "modbus-rtu"
bus = "line"
unit_id = 5
response_timeout = "300ms"
byte_timeout = "100ms"
retries = 0
[[devices.points]]
name = "voltage"
kind = "holding"
address = 0
type = "float32"
)",
                     tty);
}

TEST(BadFramesTest, RtuCrcErrorIsCountedAndNotDecoded) {
  ScratchDir dir;
  PtyPair ptys(dir.path());
  ScriptedRtuPeer peer(ptys.a(), [](const Bytes&, int index) {
    auto frame = rtu_frame(5, registers_pdu(3, {kGoodHi, kGoodLo}));
    if (index == 0) frame.back() ^= 0xFF;  // corrupt the CRC of the first answer
    return Response{Response::Action::kSend, frame};
  });
  InlineGateway gateway(rtu_config(ptys.b()));
  const auto first = gateway.read_all().at("meter/voltage");
  EXPECT_EQ(first.quality, Quality::kBadResponse) << first.error;
  EXPECT_TRUE(std::holds_alternative<std::monostate>(first.value));
  EXPECT_NE(first.error.find("CRC"), std::string::npos) << first.error;
  EXPECT_EQ(gateway.driver(0).health().bad_responses, 1u);

  const auto second = gateway.read_all().at("meter/voltage");
  ASSERT_EQ(second.quality, Quality::kGood) << second.error;
  EXPECT_DOUBLE_EQ(std::get<double>(second.value), 230.5);
}

TEST(BadFramesTest, RtuAnswerFromAnotherUnitIsNotTakenForOurs) {
  ScratchDir dir;
  PtyPair ptys(dir.path());
  ScriptedRtuPeer peer(ptys.a(), [](const Bytes&, int index) {
    const std::uint8_t unit = index == 0 ? 9 : 5;
    return Response{Response::Action::kSend, rtu_frame(unit, registers_pdu(3, {kGoodHi, kGoodLo}))};
  });
  InlineGateway gateway(rtu_config(ptys.b()));
  const auto first = gateway.read_all().at("meter/voltage");
  EXPECT_NE(first.quality, Quality::kGood);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(first.value));
  const auto second = gateway.read_all().at("meter/voltage");
  ASSERT_EQ(second.quality, Quality::kGood) << second.error;
  EXPECT_DOUBLE_EQ(std::get<double>(second.value), 230.5);
}

}  // namespace
}  // namespace fieldgate::testing
