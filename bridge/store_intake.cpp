#include "bridge/store_intake.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "bridge/store_schema.hpp"

namespace fieldgate::bridge {
namespace {

constexpr std::chrono::minutes kRefusalLogEvery{1};

}  // namespace

std::uint64_t ReadingIntake::admit(Batch& batch) {
  std::uint64_t removed = 0;
  const auto oversize = [&](Reading& r) {
    // Measured before the text is touched: U+FFFD is longer than the byte it
    // replaces, and a 100 MB string need not be copied to be refused.
    const auto size = schema::accounted_size(r);
    if (size > max_reading_) {
      log_refusals(r, size);
      ++removed;
      return true;
    }
    if (make_valid_utf8(r) && !logged_utf8_) {
      spdlog::warn(
          "store: a reading of {}/{} held bytes that are not UTF-8; they are replaced by U+FFFD "
          "(logged once; devices sending Latin-1 do this)",
          r.device, r.point);
      logged_utf8_ = true;
    }
    return false;
  };
  std::erase_if(batch, oversize);
  return removed;
}

void ReadingIntake::log_refusals(const Reading& example, std::uint64_t size) {
  ++refused_;
  ++refused_unlogged_;
  const auto now = Clock::now();
  if (refused_ > 1 && now - last_refusal_log_ < kRefusalLogEvery) return;
  // The names went through no sanitizer yet: the log gets valid UTF-8 only.
  spdlog::warn(
      "store: refused a reading of {}/{}: {} bytes, larger than [mqtt] max_payload ({} bytes); "
      "{} refused in the last minute, {} since start (counted as refused_oversize)",
      to_valid_utf8(example.device.substr(0, 200)), to_valid_utf8(example.point.substr(0, 200)),
      size, max_reading_, refused_unlogged_, refused_);
  refused_unlogged_ = 0;
  last_refusal_log_ = now;
}

}  // namespace fieldgate::bridge
