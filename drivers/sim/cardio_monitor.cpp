#include "drivers/sim/cardio_monitor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "drivers/serial/checksum.hpp"

namespace fieldgate::sim {
namespace {

// A bounded random walk that leans back toward the middle of its range.
double wander(std::mt19937& rng, double value, double lo, double hi, double step) {
  std::normal_distribution<double> noise(0.0, step);
  const double middle = (lo + hi) / 2;
  value += noise(rng) + (middle - value) * 0.05;
  return std::clamp(value, lo, hi);
}

}  // namespace

CardioMonitor::CardioMonitor(std::uint32_t seed, int nibp_every)
    : rng_(seed), nibp_every_(std::max(1, nibp_every)) {}

CardioVitals CardioMonitor::next() {
  heart_rate_ = wander(rng_, heart_rate_, 60, 100, 1.5);
  spo2_ = wander(rng_, spo2_, 94, 99, 0.4);
  respiration_ = wander(rng_, respiration_, 12, 20, 0.5);
  CardioVitals v;
  v.heart_rate = static_cast<int>(std::lround(heart_rate_));
  v.spo2 = static_cast<int>(std::lround(spo2_));
  v.respiration = static_cast<int>(std::lround(respiration_));
  if (line_++ % static_cast<std::uint64_t>(nibp_every_) == 0) {
    systolic_ = wander(rng_, systolic_, 105, 140, 3);
    diastolic_ = wander(rng_, diastolic_, 65, 90, 2);
    v.nibp = {static_cast<int>(std::lround(systolic_)), static_cast<int>(std::lround(diastolic_))};
  }
  return v;
}

std::string CardioMonitor::sentence(const CardioVitals& v) {
  std::string body = fmt::format("HR,{},SPO2,{},RESP,{}", v.heart_rate, v.spo2, v.respiration);
  if (v.nibp) body += fmt::format(",NIBP,{}/{}", v.nibp->first, v.nibp->second);
  return fmt::format("${}*{:02X}\r\n", body, serial::xor8(body));
}

}  // namespace fieldgate::sim
