// Fault scenarios at the field side: a Modbus device answering with
// exceptions, garbage, silence (timeouts) and resets at random, next to a
// healthy meter; a serial instrument with line noise, bad checksums and
// dropouts. The gateway keeps running; failed reads are readings too (with a
// quality), and every accepted one reaches the broker, in order.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "tests/fault/fault_rig.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/scripted_peer.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

void expect_clean(const CheckReport& r, FaultRig& rig) {
  EXPECT_EQ(r.lost, 0) << r.summary() << "\n" << rig.gateway_log();
  EXPECT_EQ(r.dropped, 0u) << r.summary();
  EXPECT_EQ(r.buffered, 0u) << r.summary();
  EXPECT_EQ(r.reordered, 0u) << r.summary();
  EXPECT_EQ(r.unexpected, 0u) << r.summary();
  std::printf("[ check ] %s\n", r.summary().c_str());
}

std::size_t count_quality(const Subscriber& sub, const std::string& quality) {
  std::size_t n = 0;
  for (const auto& m : sub.messages()) {
    n += m.payload.find("\"quality\":\"" + quality + "\"") != std::string::npos ? 1 : 0;
  }
  return n;
}

/// A Modbus TCP device that misbehaves at random (replayable by seed).
Responder flaky_device(std::uint64_t seed) {
  return [seed](const Bytes& request, int index) {
    std::mt19937_64 rng(seed ^ (static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ULL));
    const std::uint8_t function = request.at(7);
    const int quantity = (request.at(10) << 8) | request.at(11);
    switch (rng() % 8) {
      case 0:  // exception: illegal data address / device failure
        return Response{Response::Action::kSend,
                        tcp_frame(request, {static_cast<std::uint8_t>(function | 0x80),
                                            static_cast<std::uint8_t>(rng() % 2 ? 0x02 : 0x04)})};
      case 1: {  // garbage of random length
        Bytes junk(1 + rng() % 40);
        for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
        return Response{Response::Action::kSend, junk};
      }
      case 2:  // no answer: the driver times out
        return Response{Response::Action::kSilence, {}};
      case 3:
        return Response{Response::Action::kReset, {}};
      default: {
        std::vector<std::uint16_t> values(static_cast<std::size_t>(quantity));
        for (auto& v : values) v = static_cast<std::uint16_t>(rng());
        return Response{Response::Action::kSend,
                        tcp_frame(request, registers_pdu(function, values))};
      }
    }
  };
}

TEST(DeviceFaults, ModbusExceptionsGarbageAndTimeouts) {
  const auto seed = fault_seed("modbus-device-faults");
  Tally tally;
  for (int it = 0; it < iterations(1, 3); ++it) {
    ScriptedTcpPeer flaky(flaky_device(seed + static_cast<std::uint64_t>(it)));
    RigOptions o;
    o.meters = 1;
    o.extra_devices = fmt::format(R"(
[[devices]]
name = "flaky"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "50ms"
response_timeout = "200ms"
byte_timeout = "100ms"
retries = 0
backoff_max = "400ms"
[[devices.points]]
name = "a"
kind = "holding"
address = 0
type = "float32"
[[devices.points]]
name = "b"
kind = "holding"
address = 2
type = "uint16"
)",
                                  flaky.port());
    FaultRig rig(o);
    rig.start_gateway();
    ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
    std::this_thread::sleep_for(soak() ? 20s : 5s);
    ASSERT_TRUE(rig.gateway_running()) << rig.gateway_log();
    EXPECT_GT(flaky.requests(), 10);
    const auto report = rig.finish();
    expect_clean(report, rig);
    const auto& sub = rig.subscriber();
    EXPECT_GT(count_quality(sub, "good"), 0u);
    EXPECT_GT(count_quality(sub, "timeout") + count_quality(sub, "exception") +
                  count_quality(sub, "bad_response") + count_quality(sub, "no_connection"),
              0u)
        << "the device never misbehaved";
    tally.add(report);
    if (::testing::Test::HasFailure()) break;
  }
  tally.print("modbus-device-faults", seed);
}

TEST(DeviceFaults, SerialNoiseBadChecksumsAndDropouts) {
  const auto seed = fault_seed("serial-noise");
  ScratchDir dir;
  PtyPair pty(dir.path());
  // --rate 20: twenty lines a second, with the simulator's noise, bad
  // checksums and dropouts (its fault schedule), seeded.
  ChildProcess monitor(
      {kBinary, "simulate", "serial", "--device", pty.a(), "--profile", "cardio", "--rate", "20"},
      dir.path());
  RigOptions o;
  o.meters = 1;
  o.qos = 2;
  o.extra_devices = fmt::format(R"(
[[devices]]
name = "bed-12"
driver = "serial-line"
port = "{}"
baud = 9600
mode = "streaming"
framing = "delimiter"
delimiter = "\r\n"
start_byte = "$"
max_frame = 128
checksum = "nmea-xor"
parse = "key-value"
separator = ","
assign = ","
poll_interval = "50ms"
stale_after = "1s"
[[devices.points]]
name = "heart_rate"
key = "HR"
type = "int"
[[devices.points]]
name = "spo2"
key = "SPO2"
type = "int"
)",
                                pty.b());
  FaultRig rig(o);
  rig.start_gateway();
  ASSERT_TRUE(rig.wait_progress(200, 30s)) << rig.gateway_log();
  std::this_thread::sleep_for(soak() ? 30s : 6s);
  ASSERT_TRUE(rig.gateway_running()) << rig.gateway_log();
  const auto report = rig.finish();
  expect_clean(report, rig);
  // QoS 2 in one uninterrupted session: exactly once.
  EXPECT_EQ(report.duplicates, 0u) << report.summary();
  std::size_t vitals = 0;
  for (const auto& m : rig.subscriber().messages()) {
    vitals += m.topic.find("/bed-12/") != std::string::npos ? 1 : 0;
  }
  EXPECT_GT(vitals, 20u) << "the monitor's readings did not get through";
  Tally tally;
  tally.add(report);
  tally.print("serial-noise", seed);
}

}  // namespace
}  // namespace fieldgate::testing
