// Logging for people at a terminal and for the systemd journal.
//
// Under systemd (stderr connected to the journal, $JOURNAL_STREAM) each line
// starts with its syslog priority, "<4>mqtt: ...", which journald turns into
// the entry's priority; the journal keeps its own timestamps. At a terminal,
// lines carry a timestamp and a coloured level.
//
// Identical lines are rate-limited: the first goes out, repeats within the
// next `kRepeatWindow` are counted, and the next one after it says how many
// were held back. A device that fails every second must not write a line
// every second to an SD card.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fieldgate::gateway {

/// Sets up the default logger at `level` ("trace" ... "off"), journal-aware
/// and rate-limited.
void setup_logging(const std::string& level);

/// True when stderr is the systemd journal's stream ($JOURNAL_STREAM names
/// stderr's device and inode), so lines should carry "<N>" priorities.
[[nodiscard]] bool stderr_is_journal();

/// Decides which of a stream of log lines go out. Not thread-safe (the sink
/// that owns it serialises calls).
class RepeatLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RepeatLimiter(Clock::duration window, std::size_t max_keys);

  struct Verdict {
    bool write = true;              // false: held back
    std::uint64_t held_back = 0;    // identical lines held back before this one
    std::chrono::seconds since{0};  // ... since this line was last written
  };
  /// Whether the line `key` goes out at `now`.
  [[nodiscard]] Verdict admit(std::string_view key, Clock::time_point now);

 private:
  struct Entry {
    Clock::time_point last_written;
    std::uint64_t held_back = 0;
  };
  void forget_old(Clock::time_point now);

  Clock::duration window_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Entry> entries_;
};

inline constexpr std::chrono::minutes kRepeatWindow{5};

}  // namespace fieldgate::gateway
