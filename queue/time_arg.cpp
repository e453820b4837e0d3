#include <cstdio>
#include <ctime>
#include <string>

#include <fmt/format.h>

#include "config/units.hpp"
#include "queue/queue_command.hpp"

namespace fieldgate::queue {

// std::chrono::parse is not in GCC 12's library; strptime() reads the date and
// time, and only the optional fraction and UTC offset are handled here.
std::optional<std::int64_t> parse_time_arg(std::string_view text, std::int64_t now_ms,
                                           std::string& error) {
  if (auto d = config::parse_duration(text)) return now_ms - d.value->count();
  const std::string s(text);
  std::tm tm{};
  const char* rest = nullptr;
  for (const char* format :
       {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    tm = std::tm{};
    rest = strptime(s.c_str(), format, &tm);
    if (rest != nullptr) break;
  }
  std::int64_t ms = 0;
  std::int64_t offset_min = 0;
  bool ok = rest != nullptr;
  if (ok && *rest == '.') {
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits) {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
    }
    for (int d = digits; d < 3; ++d) ms *= 10;
    ok = digits > 0;
  }
  if (ok && (*rest == 'Z' || *rest == 'z')) {
    ++rest;
  } else if (ok && (*rest == '+' || *rest == '-')) {
    const int sign = *rest == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    int used = 0;
    ok = std::sscanf(rest + 1, "%2d:%2d%n", &hh, &mm, &used) == 2 ||
         std::sscanf(rest + 1, "%2d%2d%n", &hh, &mm, &used) == 2;
    ok = ok && hh <= 23 && mm <= 59;
    rest += 1 + used;
    offset_min = sign * (hh * 60 + mm);
  }
  if (!ok || *rest != '\0') {
    error = fmt::format(
        "expected a time such as 2026-11-25T12:00:00Z (UTC unless an offset is given) or a "
        "duration such as 2h (meaning 2h ago), got \"{}\"",
        text);
    return std::nullopt;
  }
  const auto secs = static_cast<std::int64_t>(timegm(&tm));
  return (secs - offset_min * 60) * 1000 + ms;
}

}  // namespace fieldgate::queue
