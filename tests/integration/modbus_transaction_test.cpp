// The retry rules every Modbus-speaking driver shares (drivers/modbus/
// transaction.hpp), against a peer that misbehaves on purpose: reads are
// repeated, writes never after the request may have reached the device, an
// exception is never repeated, and a connection the peer closed is reopened.
#include <gtest/gtest.h>

#include <chrono>

#include "drivers/modbus/transaction.hpp"
#include "tests/support/scripted_peer.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using modbus::Repeat;

constexpr modbus::Addressee kUnit1{1, 200ms, 50ms};

struct Run {
  modbus::RequestOutcome outcome;
  drivers::DeviceHealth health;
  int requests_seen = 0;
};

/// One request (FC3 holding 0, one register, or FC6 holding 0 = 7) through
/// run_request against a peer answering request i with `answer(i)`.
Run run(Repeat repeat, int retries, const std::function<Response(const Bytes&, int)>& answer) {
  ScriptedTcpPeer peer(answer);
  auto link = modbus::ModbusLink::tcp("127.0.0.1", peer.port());
  Run r;
  std::uint16_t word = 0;
  const auto call = [&](modbus_t* ctx) {
    return repeat == Repeat::kRead ? modbus_read_registers(ctx, 0, 1, &word)
                                   : modbus_write_register(ctx, 0, 7);
  };
  const int expected = 1;
  r.outcome =
      modbus::run_request(*link, kUnit1, repeat, retries, r.health, "holding 0", call, expected);
  link->disconnect();
  r.requests_seen = peer.requests();
  return r;
}

Response silence() {
  return {Response::Action::kSilence, {}};
}
Response answer_read(const Bytes& request) {
  return {Response::Action::kSend, tcp_frame(request, registers_pdu(3, {0x1234}))};
}

TEST(ModbusTransactionTest, ReadIsRepeatedAfterTimeoutUpToRetries) {
  const auto r = run(Repeat::kRead, 2, [](const Bytes&, int) { return silence(); });
  EXPECT_EQ(r.outcome.quality, Quality::kTimeout) << r.outcome.error;
  EXPECT_NE(r.outcome.error.find("holding 0"), std::string::npos) << r.outcome.error;
  EXPECT_EQ(r.health.requests, 3u);
  EXPECT_EQ(r.health.timeouts, 3u);
  EXPECT_EQ(r.requests_seen, 3);
}

TEST(ModbusTransactionTest, ReadSucceedsOnRetryAfterGarbage) {
  const auto r = run(Repeat::kRead, 1, [](const Bytes& request, int index) {
    // An answer to another function: not this request's.
    if (index == 0)
      return Response{Response::Action::kSend, tcp_frame(request, registers_pdu(4, {1}))};
    return answer_read(request);
  });
  EXPECT_EQ(r.outcome.quality, Quality::kGood) << r.outcome.error;
  EXPECT_TRUE(r.outcome.error.empty());
  EXPECT_EQ(r.health.bad_responses, 1u);
  EXPECT_EQ(r.health.requests, 2u);
}

TEST(ModbusTransactionTest, WriteIsNeverSentTwiceAfterATimeout) {
  // The device may have executed it: a second copy could switch a relay twice.
  const auto r = run(Repeat::kWrite, 5, [](const Bytes&, int) { return silence(); });
  EXPECT_EQ(r.outcome.quality, Quality::kTimeout) << r.outcome.error;
  EXPECT_EQ(r.health.requests, 1u);
  EXPECT_EQ(r.requests_seen, 1);
}

TEST(ModbusTransactionTest, ExceptionIsNeverRepeated) {
  const auto r = run(Repeat::kRead, 3, [](const Bytes& request, int) {
    return Response{Response::Action::kSend, tcp_frame(request, {0x83, 0x02})};
  });
  EXPECT_EQ(r.outcome.quality, Quality::kException) << r.outcome.error;
  EXPECT_EQ(r.health.exceptions, 1u);
  EXPECT_EQ(r.requests_seen, 1);
}

TEST(ModbusTransactionTest, WriteIsSentAgainAfterTheConnectionWasReset) {
  // A reset instead of an answer: the link is reopened and the write sent once
  // more (an idle TCP connection the device closed fails this way at once).
  const auto r = run(Repeat::kWrite, 0, [](const Bytes& request, int index) {
    if (index == 0) return Response{Response::Action::kReset, {}};
    return Response{Response::Action::kSend, tcp_frame(request, {0x06, 0x00, 0x00, 0x00, 0x07})};
  });
  EXPECT_EQ(r.outcome.quality, Quality::kGood) << r.outcome.error;
  EXPECT_EQ(r.health.connection_errors, 1u);
  EXPECT_EQ(r.health.requests, 2u);
}

}  // namespace
}  // namespace fieldgate::testing
