// Logging for people at a terminal and for the systemd journal.
//
// Under systemd (stderr connected to the journal, $JOURNAL_STREAM) each line
// starts with its syslog priority, "<4>mqtt: ...", which journald turns into
// the entry's priority; the journal keeps its own timestamps. At a terminal,
// lines carry a timestamp and a coloured level.
//
// Every line is escaped on its way out (escape_log_text): text from outside
// (a command's payload, a topic, what a device sent) can hold newlines, NUL or
// terminal escape sequences, and one line in must stay one line out — no
// forged journal entries, no terminal taken over.
//
// Identical lines are rate-limited: the first goes out, repeats within the
// next `kRepeatWindow` are counted, and the next one after it says how many
// were held back. A device that fails every second must not write a line
// every second to an SD card. Audit lines (audit_log(): every command and its
// outcome) are never held back.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <spdlog/common.h>

namespace fieldgate::gateway {

/// Sets up the default logger at `level` ("trace" ... "off"), journal-aware,
/// escaped and rate-limited.
void setup_logging(const std::string& level);

/// True when stderr is the systemd journal's stream ($JOURNAL_STREAM names
/// stderr's device and inode), so lines should carry "<N>" priorities.
[[nodiscard]] bool stderr_is_journal();

/// `text` with every byte that could end a line or drive a terminal written as
/// an escape: `\n` `\r` `\t`, `\xNN` (upper case) for other control bytes
/// (C0, DEL), for the C1 controls and U+2028/U+2029 (their UTF-8 bytes), and
/// for each byte that is not part of valid UTF-8. Everything else, including
/// valid non-ASCII text ("°C"), is unchanged.
[[nodiscard]] std::string escape_log_text(std::string_view text);

/// Writes an audit line at `level` through the default logger: a command, its
/// topic and id, and its outcome. Never held back by the repeat limiter
/// (identical commands are each logged); escaped like every line.
void audit_log(spdlog::level::level_enum level, std::string_view line);

/// Decides which of a stream of log lines go out. Not thread-safe (the sink
/// that owns it serialises calls). Bounded: at most `max_keys` lines are
/// tracked, each by at most kKeyBytes bytes (a prefix of the line and a hash
/// of all of it), however long the lines.
class RepeatLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kKeyBytes = 128;

  RepeatLimiter(Clock::duration window, std::size_t max_keys);

  struct Verdict {
    bool write = true;              // false: held back
    std::uint64_t held_back = 0;    // identical lines held back before this one
    std::chrono::seconds since{0};  // ... since this line was last written
  };
  /// Whether the line `line` goes out at `now`.
  [[nodiscard]] Verdict admit(std::string_view line, Clock::time_point now);

  /// Lines tracked now, and the bytes their keys hold (for tests).
  [[nodiscard]] std::size_t tracked() const noexcept { return entries_.size(); }
  [[nodiscard]] std::size_t key_bytes() const noexcept;

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
