// SerialCardioSim: writes a CardioMonitor's lines to a serial port or one end
// of a pty pair, at a steady rate, with the faults a real RS-232 link has:
// noise bytes between lines, a line with a wrong checksum now and then, and a
// dropout (the monitor goes quiet for a few seconds). Used by
// `fieldgate simulate serial`, the demo and the tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "drivers/sim/cardio_monitor.hpp"

namespace fieldgate::sim {

struct SerialSimOptions {
  std::string device;  // serial port or pty path
  int baud = 9600;
  double rate = 1.0;   // lines per second
  bool faults = true;  // noise, checksum errors, dropouts
  std::uint32_t seed = 7;
};

/// Counters of what was written, for the summary line and tests.
struct SerialSimStats {
  std::uint64_t lines = 0;  // lines written (good and corrupted)
  std::uint64_t bad_checksums = 0;
  std::uint64_t noise_bursts = 0;
  std::uint64_t dropouts = 0;
  std::uint64_t write_errors = 0;  // the port went away; reopened later
};

class SerialCardioSim {
 public:
  /// Throws std::invalid_argument for an unknown profile (only "cardio").
  SerialCardioSim(SerialSimOptions options, const std::string& profile);

  /// Writes until `stop` is set. Reopens the port after a write error.
  void run(const std::atomic<bool>& stop);

  [[nodiscard]] SerialSimStats stats() const;

  /// Fault schedule, by line number (from 0): deterministic, so tests can
  /// count on it. Every 13th line is preceded by noise bytes, every 19th has
  /// a wrong checksum, and every 60 lines the monitor skips 4 lines.
  [[nodiscard]] static bool noise_before(std::uint64_t line) { return line % 13 == 7; }
  [[nodiscard]] static bool bad_checksum(std::uint64_t line) { return line % 19 == 11; }
  [[nodiscard]] static bool dropped(std::uint64_t line) {
    return line % 60 >= 40 && line % 60 < 44;
  }

 private:
  SerialSimOptions options_;
  CardioMonitor monitor_;
  std::atomic<std::uint64_t> lines_{0};
  std::atomic<std::uint64_t> bad_checksums_{0};
  std::atomic<std::uint64_t> noise_bursts_{0};
  std::atomic<std::uint64_t> dropouts_{0};
  std::atomic<std::uint64_t> write_errors_{0};
};

}  // namespace fieldgate::sim
