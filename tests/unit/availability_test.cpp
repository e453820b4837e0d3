// The per-device availability state machine (gateway/availability.hpp) and
// the board that hands its changes to the availability hook: when a device
// turns online or offline, what a new session republishes, what a reload clears.
#include "gateway/availability.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/config_loading.hpp"

namespace fieldgate::gateway {

// For gtest's messages (found by argument-dependent lookup, so not in the
// unnamed namespace).
void PrintTo(const AvailabilityBoard::Message& m, std::ostream* os) {
  *os << m.topic << "=\"" << m.payload << "\"";
}

namespace {

using Message = AvailabilityBoard::Message;

drivers::DeviceHealth answered() {
  drivers::DeviceHealth h;
  h.last_good_ms = 1'700'000'000'000;
  return h;
}

drivers::DeviceHealth failing(int polls, bool ever_answered = false) {
  drivers::DeviceHealth h;
  h.consecutive_failures = polls;
  h.last_good_ms = ever_answered ? 1'700'000'000'000 : 0;
  return h;
}

TEST(AvailabilityTest, OneAnswerIsOnlineAtOnce) {
  EXPECT_EQ(next_availability(Availability::kUnknown, answered(), 3), Availability::kOnline);
  EXPECT_EQ(next_availability(Availability::kOffline, answered(), 3), Availability::kOnline);
  EXPECT_EQ(next_availability(Availability::kOnline, answered(), 3), Availability::kOnline);
}

TEST(AvailabilityTest, OfflineAfterExactlyNFailuresInARow) {
  for (int n = 1; n < 3; ++n) {
    EXPECT_EQ(next_availability(Availability::kOnline, failing(n, true), 3), Availability::kOnline)
        << n;
  }
  EXPECT_EQ(next_availability(Availability::kOnline, failing(3, true), 3), Availability::kOffline);
  EXPECT_EQ(next_availability(Availability::kOffline, failing(40, true), 3),
            Availability::kOffline);
  EXPECT_EQ(next_availability(Availability::kOnline, failing(1, true), 1), Availability::kOffline);
}

TEST(AvailabilityTest, ANeverReachedDeviceStaysUnknownUntilNFailures) {
  EXPECT_EQ(next_availability(Availability::kUnknown, failing(2), 3), Availability::kUnknown);
  EXPECT_EQ(next_availability(Availability::kUnknown, failing(3), 3), Availability::kOffline);
  // Not polled yet: nothing to decide.
  EXPECT_EQ(next_availability(Availability::kUnknown, drivers::DeviceHealth{}, 3),
            Availability::kUnknown);
}

TEST(AvailabilityTest, ANonsenseThresholdActsAsOne) {
  EXPECT_EQ(next_availability(Availability::kOnline, failing(1, true), 0), Availability::kOffline);
}

TEST(AvailabilityTest, NamesAreThePayloads) {
  EXPECT_EQ(to_string(Availability::kOnline), "online");
  EXPECT_EQ(to_string(Availability::kOffline), "offline");
  EXPECT_EQ(to_string(Availability::kUnknown), "unknown");
}

config::Config config_of(const std::string& devices) {
  return test_support::load_config_string(
      "[gateway]\nname = \"gw\"\n[mqtt]\navailability_topic = \"a/{device}\"\n" + devices,
      "t.toml");
}

std::string device(const std::string& name, int offline_after = 3) {
  return "[[devices]]\nname = \"" + name +
         "\"\ndriver = \"modbus-tcp\"\nhost = \"h\"\noffline_after = " +
         std::to_string(offline_after) +
         "\npoints = [{ name = \"p\", kind = \"coil\", address = 0 }]\n";
}

TEST(AvailabilityBoardTest, TransitionsAreTakenOnceAndEverythingOnAConnect) {
  int wakes = 0;
  AvailabilityBoard board([&] { ++wakes; });
  board.set_devices(config_of(device("meter", 2) + device("pump")));
  EXPECT_TRUE(board.take(true).empty()) << "nothing is known before a poll";
  EXPECT_TRUE(board.take(false).empty());

  const int before = wakes;
  board.observe("meter", answered());
  EXPECT_EQ(wakes, before + 1);
  board.observe("meter", answered());  // no change: no wake, nothing new
  EXPECT_EQ(wakes, before + 1);
  EXPECT_EQ(board.take(false), (std::vector<Message>{{"a/meter", "online"}}));
  EXPECT_TRUE(board.take(false).empty());

  board.observe("meter", failing(1, true));
  EXPECT_TRUE(board.take(false).empty());
  board.observe("meter", failing(2, true));
  board.observe("pump", failing(3));
  EXPECT_EQ(board.take(false),
            (std::vector<Message>{{"a/meter", "offline"}, {"a/pump", "offline"}}));

  // A new session: every known state again.
  EXPECT_EQ(board.take(true),
            (std::vector<Message>{{"a/meter", "offline"}, {"a/pump", "offline"}}));
  EXPECT_EQ(board.states().at("meter"), Availability::kOffline);
  board.observe("nobody", answered());  // a device a reload removed: ignored
  EXPECT_FALSE(board.states().contains("nobody"));
}

TEST(AvailabilityBoardTest, OnlyTheLatestStateOfATopicIsPublished) {
  AvailabilityBoard board;
  board.set_devices(config_of(device("meter", 1)));
  board.observe("meter", answered());
  board.observe("meter", failing(1, true));
  board.observe("meter", answered());
  EXPECT_EQ(board.take(false), (std::vector<Message>{{"a/meter", "online"}}));
}

TEST(AvailabilityBoardTest, AFailedPublishIsTakenAgainUnlessSomethingNewerWaits) {
  AvailabilityBoard board;
  board.set_devices(config_of(device("meter", 1)));
  board.observe("meter", answered());
  auto taken = board.take(false);
  board.failed(taken.at(0));
  EXPECT_EQ(board.take(false), taken);

  board.observe("meter", failing(1, true));
  board.failed(taken.at(0));  // the old "online" must not overwrite "offline"
  EXPECT_EQ(board.take(false), (std::vector<Message>{{"a/meter", "offline"}}));
}

TEST(AvailabilityBoardTest, AReloadClearsRemovedDevicesAndStartsNewOnesUnknown) {
  AvailabilityBoard board;
  board.set_devices(config_of(device("meter") + device("pump")));
  board.observe("meter", answered());
  board.observe("pump", answered());
  (void)board.take(false);

  board.set_devices(config_of(device("meter") + device("valve")));
  EXPECT_EQ(board.take(false), (std::vector<Message>{{"a/pump", ""}}));
  EXPECT_EQ(board.states().at("meter"), Availability::kOnline) << "a kept device keeps its state";
  EXPECT_EQ(board.states().at("valve"), Availability::kUnknown);
  EXPECT_FALSE(board.states().contains("pump"));

  // Until a clear was handed to the broker, every new session repeats it.
  EXPECT_EQ(board.take(true), (std::vector<Message>{{"a/pump", ""}, {"a/meter", "online"}}));
  board.published({"a/pump", ""});
  EXPECT_EQ(board.take(true), (std::vector<Message>{{"a/meter", "online"}}));
}

TEST(AvailabilityBoardTest, AChangedTopicTakesTheStateAndTheOldOneIsCleared) {
  AvailabilityBoard board;
  board.set_devices(config_of(device("meter")));
  board.observe("meter", failing(3));
  (void)board.take(false);
  board.set_devices(test_support::load_config_string(
      "[gateway]\nname = \"gw\"\n[mqtt]\navailability_topic = \"b/{device}\"\n" + device("meter"),
      "t.toml"));
  EXPECT_EQ(board.take(false), (std::vector<Message>{{"a/meter", ""}, {"b/meter", "offline"}}));
}

TEST(AvailabilityBoardTest, PendingClearsAreBounded) {
  AvailabilityBoard board;
  // Every reload removes the device the previous one had, while nothing is
  // ever published: the clears pile up to the bound, no further.
  auto config = config_of(device("d0"));
  for (std::size_t i = 0; i < kMaxPendingClears + 10; ++i) {
    config.devices.at(0).name = "d" + std::to_string(i);
    board.set_devices(config);
  }
  const auto all = board.take(true);
  EXPECT_EQ(all.size(), kMaxPendingClears);
  EXPECT_EQ(all.back().topic, "a/d" + std::to_string(kMaxPendingClears + 8));
}

TEST(AvailabilityBoardTest, WorkersAndTheForwarderShareItSafely) {
  AvailabilityBoard board;
  board.set_devices(config_of(device("a", 1) + device("b", 1)));
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (const char* name : {"a", "b"}) {
    workers.emplace_back([&, name] {
      for (int i = 0; i < 2000; ++i) board.observe(name, i % 2 ? answered() : failing(1, true));
    });
  }
  std::size_t taken = 0;
  std::thread forwarder([&] {
    while (!stop) taken += board.take(false).size();
  });
  for (auto& w : workers) w.join();
  stop = true;
  forwarder.join();
  // The last poll of each (i = 1999) answered.
  EXPECT_EQ(board.states().at("a"), Availability::kOnline);
  EXPECT_EQ(board.states().at("b"), Availability::kOnline);
  EXPECT_LE(taken + board.take(false).size(), 8000U);
}

}  // namespace
}  // namespace fieldgate::gateway
