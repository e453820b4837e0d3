// Modbus figures: requests per poll cycle for a device map (against the
// planner's proven minimum and an independent count at the server), and the
// RTU poll-cycle time on a paced pty pair against the theoretical bus time.
#pragma once

#include <cstdint>
#include <string>

namespace fieldgate::bench {

struct PlanResult {
  std::size_t points = 0;
  std::size_t planned = 0;  // plan_requests(): what the driver sends per cycle
  double measured = 0;      // requests the server answered, per cycle
  std::size_t minimum = 0;  // independent dynamic programme over address order
  std::uint64_t bad_readings = 0;
};

/// Polls the first device of `config_path` (modbus-tcp) `cycles` times against
/// an in-process register bank large enough for any map.
[[nodiscard]] PlanResult run_plan(const std::string& config_path, int cycles);

struct RtuResult {
  int baud = 0;
  double byte_us_theory = 0;         // 11 bits per character
  double byte_us_measured = 0;       // least-squares slope of a 69-byte reply's arrivals
  double byte_us_first_to_last = 0;  // (last - first) / 68: low if the first read was late
  double cycle_ms_measured = 0;      // driver poll of every point, mean over the cycles
  double cycle_ms_theory = 0;        // frames' bytes × 11 bits + 2 × t3.5 per request
  int requests_per_cycle = 0;
  std::uint64_t bad_readings = 0;
};

/// The power-meter simulator behind a pacing relay on two pty pairs.
[[nodiscard]] RtuResult run_rtu(int baud, int cycles);

}  // namespace fieldgate::bench
