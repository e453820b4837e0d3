// What every reading passes on its way into the buffer (SqliteStore::append
// and SpillStore::append, the one place all readings go through): its text
// made valid UTF-8, and a reading larger than max_reading refused and
// counted. Private to the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/reading.hpp"

namespace fieldgate::bridge {

class ReadingIntake {
 public:
  explicit ReadingIntake(std::uint64_t max_reading) : max_reading_(max_reading) {}

  /// Sanitizes the text of every reading of `batch` and removes those larger
  /// than max_reading; returns how many were removed. Logs the first change
  /// of each kind, then at most one summary a minute. Not thread-safe: the
  /// caller holds its store's lock.
  std::uint64_t admit(Batch& batch);

  [[nodiscard]] std::uint64_t max_reading() const noexcept { return max_reading_; }

 private:
  using Clock = std::chrono::steady_clock;
  void log_refusals(const Reading& example, std::uint64_t size);

  const std::uint64_t max_reading_;
  bool logged_utf8_ = false;
  std::uint64_t refused_ = 0;           // since the store opened
  std::uint64_t refused_unlogged_ = 0;  // since the last log line
  Clock::time_point last_refusal_log_{};
};

}  // namespace fieldgate::bridge
