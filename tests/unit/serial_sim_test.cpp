// The simulated cardio monitor: values stay in their physiological ranges and
// drift (not constant, not jumping), NIBP comes every few lines, and every
// sentence carries a checksum the serial-line driver accepts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "drivers/serial/checksum.hpp"
#include "drivers/sim/cardio_monitor.hpp"
#include "drivers/sim/serial_sim.hpp"

namespace fieldgate::sim {
namespace {

TEST(SerialSimTest, CardioValuesStayInRangeAndDrift) {
  CardioMonitor monitor(3);
  std::set<int> heart_rates;
  int nibp_lines = 0;
  CardioVitals previous = monitor.next();
  for (int i = 0; i < 600; ++i) {
    const CardioVitals v = monitor.next();
    EXPECT_GE(v.heart_rate, 60);
    EXPECT_LE(v.heart_rate, 100);
    EXPECT_GE(v.spo2, 94);
    EXPECT_LE(v.spo2, 99);
    EXPECT_GE(v.respiration, 12);
    EXPECT_LE(v.respiration, 20);
    EXPECT_LE(std::abs(v.heart_rate - previous.heart_rate), 10) << "a jump, not a drift";
    if (v.nibp) {
      ++nibp_lines;
      EXPECT_GT(v.nibp->first, v.nibp->second);
      EXPECT_GE(v.nibp->second, 65);
      EXPECT_LE(v.nibp->first, 140);
    }
    heart_rates.insert(v.heart_rate);
    previous = v;
  }
  EXPECT_GT(heart_rates.size(), 5u);
  EXPECT_EQ(nibp_lines, 120);  // every 5th line
}

TEST(SerialSimTest, SentencesCarryAValidNmeaChecksum) {
  CardioVitals v;
  v.heart_rate = 72;
  v.spo2 = 98;
  v.respiration = 16;
  v.nibp = {{120, 80}};
  const std::string line = CardioMonitor::sentence(v);
  EXPECT_EQ(line.substr(0, line.find('*')), "$HR,72,SPO2,98,RESP,16,NIBP,120/80");
  EXPECT_EQ(line.substr(line.size() - 2), "\r\n");
  serial::SerialLineConfig c;
  c.checksum = serial::ChecksumKind::kNmeaXor;
  const auto r = serial::verify_checksum(c, line.substr(0, line.size() - 2), "", 0);
  EXPECT_TRUE(r.ok) << r.error;
}

TEST(SerialSimTest, FaultScheduleHasEachKindOfFault) {
  int noise = 0;
  int bad = 0;
  int dropped = 0;
  for (std::uint64_t n = 0; n < 120; ++n) {
    noise += SerialCardioSim::noise_before(n) ? 1 : 0;
    bad += SerialCardioSim::bad_checksum(n) ? 1 : 0;
    dropped += SerialCardioSim::dropped(n) ? 1 : 0;
  }
  EXPECT_GT(noise, 5);
  EXPECT_GT(bad, 4);
  EXPECT_EQ(dropped, 8);  // two dropouts of four lines
  EXPECT_THROW(SerialCardioSim({}, "power-meter"), std::invalid_argument);
}

}  // namespace
}  // namespace fieldgate::sim
