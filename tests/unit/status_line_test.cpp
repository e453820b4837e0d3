// The status lines `fieldgate run` logs (gateway/status.hpp): every number
// says what it counts. The stop line once read "queue 6 readings" right after
// the uplink's "0 messages unconfirmed": two counts of different things with
// nothing to tell them apart.
#include <gtest/gtest.h>

#include "gateway/status.hpp"

namespace fieldgate::gateway {
namespace {

constexpr std::int64_t kNowMs = 1'700'000'000'000;

GatewayStatus sample() {
  GatewayStatus status;
  status.gateway = "gw";
  DeviceStatus meter;
  meter.device = "meter";
  meter.health.last_good_ms = kNowMs - 1000;
  DeviceStatus pump;
  pump.device = "pump";
  pump.health.consecutive_failures = 3;
  pump.health.last_error = "timed out";
  status.devices = {meter, pump};
  status.queue.rows = 6;
  status.queue.bytes = 14'200;
  status.queue.oldest_ts_ms = kNowMs - 3000;
  status.queue.dropped_oldest = 2;
  status.queue.dropped_expired = 1;
  status.uplink.connected = true;
  status.uplink.delivered = 5012;
  status.uplink.inflight = 40;
  return status;
}

TEST(StatusLineTest, ThePeriodicLineSaysWhatEachNumberCounts) {
  EXPECT_EQ(summary_line(sample(), kNowMs),
            "1/2 devices up (down: pump: timed out); 6 readings waiting in the buffer (14 kB, "
            "oldest 3s); uplink connected, 5012 delivered since start, 40 in flight "
            "unconfirmed; 3 dropped since the buffer was created");
}

TEST(StatusLineTest, ThePeriodicLineNamesTheUplinkError) {
  auto status = sample();
  status.uplink.connected = false;
  status.uplink.inflight = 0;
  status.uplink.last_error = "connection refused";
  const auto line = summary_line(status, kNowMs);
  EXPECT_NE(line.find("uplink DISCONNECTED, 5012 delivered since start, 0 in flight unconfirmed "
                      "(connection refused);"),
            std::string::npos)
      << line;
}

TEST(StatusLineTest, TheStopLineSaysWhatStaysInTheBufferForTheNextStart) {
  EXPECT_EQ(stop_line(sample(), kNowMs),
            "at stop: 1/2 devices up (down: pump: timed out); 5012 delivered since start; 6 "
            "readings not yet delivered stay in the buffer (14 kB, oldest 3s) for the next "
            "start; 3 dropped since the buffer was created");
}

TEST(StatusLineTest, AnEmptyBufferHasNoOldestAge) {
  auto status = sample();
  status.queue.rows = 0;
  status.queue.bytes = 0;
  status.queue.oldest_ts_ms = 0;
  const auto line = stop_line(status, kNowMs);
  EXPECT_NE(line.find("0 readings not yet delivered stay in the buffer (0 kB, oldest 0s)"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace fieldgate::gateway
