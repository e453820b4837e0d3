#include "gateway/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace fieldgate::gateway {
namespace {

// The "<N>" prefix journald reads (sd-daemon(3)): syslog priorities.
int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    fmt::format_to(std::back_inserter(dest), "<{}>", syslog_priority(msg.level));
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

/// Passes lines to `target` through a RepeatLimiter.
class RepeatLimitedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RepeatLimitedSink(spdlog::sink_ptr target)
      : target_(std::move(target)), limiter_(kRepeatWindow, 1024) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    // The level is part of what makes two lines identical.
    const auto verdict = limiter_.admit(fmt::format("{}{}", static_cast<int>(msg.level), text),
                                        RepeatLimiter::Clock::now());
    if (!verdict.write) return;
    if (verdict.held_back == 0) {
      target_->log(msg);
      return;
    }
    const std::string line =
        fmt::format("{} ({} identical line{} held back in the last {}s)", text, verdict.held_back,
                    verdict.held_back == 1 ? "" : "s", verdict.since.count());
    spdlog::details::log_msg copy(msg);
    copy.payload = line;
    target_->log(copy);
  }
  void flush_() override { target_->flush(); }

 private:
  spdlog::sink_ptr target_;
  RepeatLimiter limiter_;
};

}  // namespace

bool stderr_is_journal() {
  // "device:inode" of the stream systemd connected (systemd.exec(5)).
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return fmt::format("{}:{}", st.st_dev, st.st_ino) == stream;
}

void setup_logging(const std::string& level) {
  const bool journal = stderr_is_journal();
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      journal ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PriorityFlag>('*');
  formatter->set_pattern(journal ? "%*%v" : "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  console->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>(
      "fieldgate", std::make_shared<RepeatLimitedSink>(std::move(console)));
  spdlog::drop("fieldgate");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

RepeatLimiter::RepeatLimiter(Clock::duration window, std::size_t max_keys)
    : window_(window), max_keys_(max_keys) {}

RepeatLimiter::Verdict RepeatLimiter::admit(std::string_view key, Clock::time_point now) {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) forget_old(now);
    // Still full of lines seen within the window: let this one through
    // untracked rather than grow without bound.
    if (entries_.size() < max_keys_) entries_.emplace(std::string(key), Entry{now, 0});
    return {};
  }
  Entry& entry = it->second;
  if (now - entry.last_written < window_) {
    ++entry.held_back;
    return {false, 0, {}};
  }
  const auto since = std::chrono::duration_cast<std::chrono::seconds>(now - entry.last_written);
  entry.last_written = now;
  return {true, std::exchange(entry.held_back, 0), since};
}

void RepeatLimiter::forget_old(Clock::time_point now) {
  // Lines not written for a whole window and with nothing held back carry no
  // information any more.
  std::erase_if(entries_, [&](const auto& item) {
    return now - item.second.last_written >= window_ && item.second.held_back == 0;
  });
}

}  // namespace fieldgate::gateway
