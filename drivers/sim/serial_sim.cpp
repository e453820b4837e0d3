#include "drivers/sim/serial_sim.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>
#include <stdexcept>
#include <thread>

#include "core/serial_port.hpp"

namespace fieldgate::sim {
namespace {

using Clock = std::chrono::steady_clock;

// Line noise: bytes that are neither '$' nor a line end, so each burst is one
// discarded piece whatever the framing (tests count them).
std::string noise(std::mt19937& rng) {
  std::uniform_int_distribution<int> length(2, 6);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out;
  for (int n = length(rng); n > 0; --n) {
    int b = byte(rng);
    if (b == '$' || b == '\r' || b == '\n') b = 0x7F;
    out += static_cast<char>(b);
  }
  return out;
}

}  // namespace

SerialCardioSim::SerialCardioSim(SerialSimOptions options, const std::string& profile)
    : options_(std::move(options)), monitor_(options_.seed) {
  if (profile != "cardio") {
    throw std::invalid_argument("unknown profile \"" + profile +
                                "\" for a serial device (profiles: cardio)");
  }
  if (!(options_.rate > 0 && options_.rate <= 1000)) {
    throw std::invalid_argument("rate must be between 0 and 1000 lines per second");
  }
}

SerialSimStats SerialCardioSim::stats() const {
  return {lines_.load(), bad_checksums_.load(), noise_bursts_.load(), dropouts_.load(),
          write_errors_.load()};
}

void SerialCardioSim::run(const std::atomic<bool>& stop) {
  SerialSettings line;
  line.baud = options_.baud;
  SerialPort port;
  std::mt19937 rng(options_.seed + 1);
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / options_.rate));
  const auto start = Clock::now();
  bool open_failed_logged = false;

  for (std::uint64_t n = 0; !stop; ++n) {
    // Keep the cadence: line n is due at start + n × period.
    const auto due = start + period * static_cast<Clock::rep>(n);
    while (!stop && Clock::now() < due) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(50)));
    }
    if (stop) break;
    const CardioVitals vitals = monitor_.next();  // time goes on during a dropout too
    if (options_.faults && dropped(n)) {
      if (!dropped(n - 1)) ++dropouts_;
      continue;
    }
    if (!port.is_open()) {
      if (const auto error = port.open(options_.device, line); !error.empty()) {
        if (!open_failed_logged) spdlog::warn("simulate serial: {}", error);
        open_failed_logged = true;
        continue;
      }
      open_failed_logged = false;
    }
    std::string bytes;
    if (options_.faults && noise_before(n)) {
      bytes += noise(rng);
      ++noise_bursts_;
    }
    std::string sentence = CardioMonitor::sentence(vitals);
    if (options_.faults && bad_checksum(n)) {
      // Flip the last checksum digit: what a corrupted bit in transit looks like.
      char& digit = sentence[sentence.size() - 3];
      digit = digit == '0' ? '1' : '0';
      ++bad_checksums_;
    }
    bytes += sentence;
    if (const auto error = port.write_all(bytes, std::chrono::seconds(1)); !error.empty()) {
      ++write_errors_;
      spdlog::warn("simulate serial: {}: {}; reopening", options_.device, error);
      port.close();
      continue;
    }
    ++lines_;
  }
}

}  // namespace fieldgate::sim
