#include "gateway/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "gateway/utf8.hpp"

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

// Set while audit_log() writes its line, on that thread: the sink runs on
// the caller's thread (a synchronous logger), so it sees the mark.
thread_local bool g_writing_audit_line = false;

void append_hex(std::string& out, unsigned char b) {
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  out += "\\x";
  out += kDigits[b >> 4];
  out += kDigits[b & 0x0F];
}

// Does `text` need escape_log_text()? The common case (printable ASCII) is a
// single pass with no copy.
bool needs_escape(std::string_view text) {
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7F) return true;
  }
  return false;
}

/// Escapes every line, then passes it to `target` through a RepeatLimiter
/// (audit lines around it).
class RepeatLimitedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RepeatLimitedSink(spdlog::sink_ptr target)
      : target_(std::move(target)), limiter_(kRepeatWindow, 1024) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    std::string escaped;
    if (needs_escape(text)) {
      escaped = escape_log_text(text);
      text = escaped;
    }
    if (g_writing_audit_line) return write(msg, text);
    // The level is part of what makes two lines identical.
    const auto verdict = limiter_.admit(fmt::format("{}{}", static_cast<int>(msg.level), text),
                                        RepeatLimiter::Clock::now());
    if (!verdict.write) return;
    if (verdict.held_back == 0) return write(msg, text);
    const std::string line =
        fmt::format("{} ({} identical line{} held back in the last {}s)", text, verdict.held_back,
                    verdict.held_back == 1 ? "" : "s", verdict.since.count());
    write(msg, line);
  }
  void flush_() override { target_->flush(); }

 private:
  void write(const spdlog::details::log_msg& msg, std::string_view text) {
    if (text.data() == msg.payload.data()) {
      target_->log(msg);
      return;
    }
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(text.data(), text.size());
    target_->log(copy);
  }

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

std::string escape_log_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  while (!text.empty()) {
    const auto b = static_cast<unsigned char>(text.front());
    if (b >= 0x20 && b < 0x7F) {
      out += text.front();
      text.remove_prefix(1);
      continue;
    }
    if (b < 0x80) {
      if (b == '\n') {
        out += "\\n";
      } else if (b == '\r') {
        out += "\\r";
      } else if (b == '\t') {
        out += "\\t";
      } else {
        append_hex(out, b);  // NUL, ESC, DEL, ...
      }
      text.remove_prefix(1);
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = utf8_sequence(text, cp);
    if (n == 0) {  // not UTF-8: the byte, escaped
      append_hex(out, b);
      text.remove_prefix(1);
      continue;
    }
    // C1 controls (CSI is U+009B) and the Unicode line and paragraph separators.
    const bool control = (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
    for (std::size_t i = 0; i < n; ++i) {
      if (control) {
        append_hex(out, static_cast<unsigned char>(text[i]));
      } else {
        out += text[i];
      }
    }
    text.remove_prefix(n);
  }
  return out;
}

void audit_log(spdlog::level::level_enum level, std::string_view line) {
  g_writing_audit_line = true;
  try {
    spdlog::log(level, "{}", line);
  } catch (...) {
    // spdlog reports its own errors; the mark must not outlive this line.
  }
  g_writing_audit_line = false;
}

RepeatLimiter::RepeatLimiter(Clock::duration window, std::size_t max_keys)
    : window_(window), max_keys_(max_keys) {}

std::size_t RepeatLimiter::key_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& [key, entry] : entries_) n += key.size();
  return n;
}

RepeatLimiter::Verdict RepeatLimiter::admit(std::string_view line, Clock::time_point now) {
  // A short line is its own key; a long one is known by its first bytes and
  // a hash of all of it (two different long lines sharing both are taken for
  // repeats, which costs a line, never memory).
  constexpr std::size_t kHashChars = 16;
  std::string key;
  if (line.size() <= kKeyBytes) {
    key = line;
  } else {
    key = fmt::format("{}{:016x}", line.substr(0, kKeyBytes - kHashChars),
                      std::hash<std::string_view>{}(line));
  }
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) forget_old(now);
    // Still full of lines seen within the window: let this one through
    // untracked rather than grow without bound.
    if (entries_.size() < max_keys_) entries_.emplace(std::move(key), Entry{now, 0});
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
