// A simulated bedside cardio monitor: vital signs that drift the way a resting
// patient's do, written as the example protocol of drivers/serial/README.md:
//   $HR,72,SPO2,98,RESP,16,NIBP,120/80*5A\r\n
// (NMEA-style XOR of the characters between '$' and '*', two hex digits).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

namespace fieldgate::sim {

struct CardioVitals {
  int heart_rate = 72;   // beats/min, 60..100
  int spo2 = 98;         // %, 94..99
  int respiration = 16;  // breaths/min, 12..20
  /// Non-invasive blood pressure (systolic, diastolic) in mmHg: only in the
  /// lines where a cuff measurement completed.
  std::optional<std::pair<int, int>> nibp;
};

class CardioMonitor {
 public:
  /// Same seed, same sequence. A cuff measurement every `nibp_every` lines.
  explicit CardioMonitor(std::uint32_t seed = 7, int nibp_every = 5);

  /// The vitals of the next line (one second later): each value takes a small
  /// random step and stays in its range.
  CardioVitals next();

  /// "$HR,72,SPO2,98,RESP,16*hh\r\n", with ",NIBP,120/80" when measured.
  [[nodiscard]] static std::string sentence(const CardioVitals& v);

 private:
  std::mt19937 rng_;
  int nibp_every_;
  std::uint64_t line_ = 0;
  double heart_rate_ = 72;
  double spo2_ = 97.5;
  double respiration_ = 16;
  double systolic_ = 120;
  double diastolic_ = 80;
};

}  // namespace fieldgate::sim
