#include "drivers/serial/serial_line_driver.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/units.hpp"
#include "core/clock.hpp"
#include "drivers/registry.hpp"
#include "drivers/serial/checksum.hpp"
#include "drivers/serial/escape.hpp"
#include "drivers/serial/schema.hpp"

namespace fieldgate::serial {
namespace {

using drivers::Clock;
using std::chrono::milliseconds;

std::string line_settings(const SerialLineConfig& s) {
  return fmt::format("{} {}{}{}", s.baud, s.data_bits,
                     static_cast<char>(std::toupper(config::to_string(s.parity).front())),
                     s.stop_bits);
}

}  // namespace

SerialLineDriver::SerialLineDriver(config::DeviceConfig device)
    : device_(std::move(device)),
      channel_("serial-line:" + line_of(device_).port),
      framer_(line_of(device_)),
      parser_(device_) {}

void SerialLineDriver::close() noexcept {
  port_.close();
  framer_.reset();
  health_.connected = false;
}

std::vector<std::string> SerialLineDriver::describe_plan() const {
  const auto& s = line_of(device_);
  std::string framing;
  switch (s.framing) {
    case Framing::kDelimiter: {
      const std::string end = s.any_line_end ? "\\r\\n, \\n or \\r" : escape_bytes(s.delimiter);
      framing =
          s.start_byte
              ? fmt::format("frames \"{}\" ... \"{}\"",
                            escape_bytes(std::string(1, static_cast<char>(*s.start_byte))), end)
              : fmt::format("frames ending \"{}\"", end);
      break;
    }
    case Framing::kStartEnd:
      framing = fmt::format("frames \"{}\" ... \"{}\"",
                            escape_bytes(std::string(1, static_cast<char>(*s.start_byte))),
                            escape_bytes(std::string(1, static_cast<char>(*s.end_byte))));
      break;
    case Framing::kFixed:
      framing = fmt::format("frames of {} bytes", s.frame_length);
      break;
  }
  std::string what = fmt::format("{}, checksum {}, parsed as {}", framing,
                                 to_string(s.checksum), to_string(s.parse));
  std::string points;
  for (const auto& p : device_.points) points += (points.empty() ? "" : ", ") + p.name;
  const auto every = config::format_duration(device_.poll_interval);
  if (s.mode == LineMode::kRequest) {
    return {fmt::format("request \"{}\" every {} on {} ({}), reply within {}: {} → {}",
                        escape_bytes(s.request), every, s.port, line_settings(s),
                        config::format_duration(device_.response_timeout), what, points)};
  }
  return {fmt::format(
      "stream on {} ({}), read every {}{}: {} → {}", s.port, line_settings(s), every,
      s.stale_after ? ", stale after " + config::format_duration(*s.stale_after) : std::string(),
      what, points)};
}

Batch SerialLineDriver::poll(Clock::time_point now, bool force) {
  Batch out;
  if (!force && now < next_due_) return out;
  // Keep the cadence; after an overrun (back-off) skip the missed slots.
  const auto interval = device_.poll_interval;
  next_due_ = next_due_ == Clock::time_point{} ? now + interval : next_due_ + interval;
  if (next_due_ <= now) next_due_ = now + interval;
  ++health_.polls;
  Tally tally;
  try {
    if (line_of(device_).mode == LineMode::kRequest) {
      poll_request(out, tally);
    } else {
      poll_streaming(now, force, out, tally);
    }
  } catch (const std::exception& e) {
    // Only allocation can throw here; never let it cross poll().
    tally.failed = true;
    tally.problem = e.what();
  }
  settle(tally);
  return out;
}

void SerialLineDriver::settle(const Tally& tally) {
  const bool was_stale = health_.last_error.starts_with("stale:");
  const bool was_down = health_.consecutive_failures > 0 || was_stale;
  health_.connected = port_.is_open();
  if (tally.failed) {
    ++health_.consecutive_failures;
  } else if (tally.good_frames > 0) {
    health_.consecutive_failures = 0;
    health_.last_good_ms = unix_ms_now();
  } else if (port_.is_open()) {
    // Open and quiet, stale or not, is no failed poll: the scheduler would back
    // off, and the frames that follow a dropout would then be read late.
    health_.consecutive_failures = 0;
  }
  const std::string& error = tally.problem;
  // Once per change, not every poll of a dead or noisy device.
  // (A stale message changes every second: log when staleness starts.)
  if ((tally.failed || (tally.stale && !was_stale)) && error != health_.last_error) {
    spdlog::warn("{}: {}", device_.name, error);
  } else if (was_down && health_.consecutive_failures == 0 && tally.good_frames > 0) {
    spdlog::info("{}: receiving again", device_.name);
  }
  // A poll that saw nothing new keeps the last error.
  if (!error.empty() || tally.good_frames > 0) health_.last_error = error;
}

bool SerialLineDriver::ensure_open(std::int64_t ts_ms, Batch& out, Tally& tally) {
  if (port_.is_open()) return true;
  const std::string error = port_.open(line_of(device_).port, line_of(device_));
  if (!error.empty()) {
    ++health_.connection_errors;
    tally.failed = true;
    tally.problem = "cannot open " + error;
    fail_all(Quality::kNoConnection, tally.problem, ts_ms, out);
    return false;
  }
  spdlog::info("{}: {} open ({})", device_.name, line_of(device_).port,
               line_settings(line_of(device_)));
  framer_.reset();
  synced_ = false;
  last_frame_ = Clock::now();  // staleness counts from the moment we listen
  stale_reported_.reset();
  return true;
}

void SerialLineDriver::lose_port(const std::string& why, std::int64_t ts_ms, Batch& out,
                                 Tally& tally) {
  ++health_.connection_errors;
  port_.close();
  framer_.reset();
  tally.failed = true;
  tally.problem = fmt::format("{} lost: {}", line_of(device_).port, why);
  fail_all(Quality::kNoConnection, tally.problem, ts_ms, out);
}

bool SerialLineDriver::read_into_frames(milliseconds wait, std::int64_t ts_ms, Batch& out,
                                        Tally& tally, std::vector<bool>* seen) {
  if (wait.count() > 0 && !port_.wait_readable(wait)) return true;
  std::string bytes;
  std::string error;
  const auto status = port_.read_available(bytes, error);
  for (const Frame& frame : framer_.feed(bytes)) handle(frame, ts_ms, out, tally, seen);
  if (status == SerialPort::Status::kLost) {
    lose_port(error, ts_ms, out, tally);
    return false;
  }
  return true;
}

void SerialLineDriver::raw(const std::string& bytes, std::string verdict, std::int64_t ts_ms) {
  if (raw_sink_) raw_sink_(drivers::RawFrame{device_.name, ts_ms, bytes, std::move(verdict)});
}

void SerialLineDriver::refuse(const Frame& frame, const std::string& why, std::int64_t ts_ms,
                              Tally& tally) {
  const std::string escaped = escape_bytes(frame.raw);
  ++health_.bad_responses;
  ++tally.refused;
  health_.last_bad_frame = fmt::format("\"{}\" ({})", escaped, why);
  tally.problem = "bad frame: " + why;
  raw(escaped, "bad: " + why, ts_ms);
}

void SerialLineDriver::handle(const Frame& frame, std::int64_t ts_ms, Batch& out, Tally& tally,
                              std::vector<bool>* seen) {
  if (frame.kind == Frame::Kind::kGarbage) {
    health_.discarded_bytes += frame.raw.size();
    raw(escape_bytes(frame.raw), "garbage: discarded", ts_ms);
    return;
  }
  ++health_.frames;
  const bool first = !synced_;
  synced_ = true;
  if (frame.kind == Frame::Kind::kOversize) {
    refuse(frame,
           fmt::format("longer than max_frame = {} bytes, discarded up to the next frame start",
                       line_of(device_).max_frame),
           ts_ms, tally);
    return;
  }
  // The first frame after opening the port is usually the tail of one cut in
  // half: show it, do not count it against the device.
  const auto partial = [&](const std::string& why) {
    if (first) {
      raw(escape_bytes(frame.raw), "partial (first bytes after opening the port): " + why, ts_ms);
    } else {
      refuse(frame, why, ts_ms, tally);
    }
  };
  // Cut out but refused by the framer: a line that ended in another line end.
  if (!frame.problem.empty()) return partial(frame.problem);
  const char end_byte = static_cast<char>(line_of(device_).end_byte.value_or(0));
  const ChecksumResult checked =
      verify_checksum(line_of(device_), frame.content, frame.trailer, end_byte);
  if (!checked.ok) return partial(checked.error);
  const FrameParser::Result parsed = parser_.parse(checked.payload);
  if (!parsed.matched) return partial("does not match the pattern");
  if (std::none_of(parsed.points.begin(), parsed.points.end(),
                   [](const PointText& p) { return p.state != PointText::State::kAbsent; })) {
    return partial("no point's field, key or group found in it");
  }

  std::string bad_value;
  bool any_good = false;
  for (std::size_t i = 0; i < parsed.points.size(); ++i) {
    const PointText& text = parsed.points[i];
    if (text.state == PointText::State::kAbsent) continue;
    const auto& point = device_.points[i];
    Converted value = text.state == PointText::State::kText
                          ? convert(text.text, point)
                          : Converted{std::monostate{}, text.text};
    Reading r{device_.name, point.name, std::monostate{}, point.unit, Quality::kGood, ts_ms, 0, {}};
    if (!value.error.empty()) {
      r.quality = Quality::kBadResponse;
      r.error = fmt::format("{}: {}", point.name, value.error);
      if (bad_value.empty()) bad_value = r.error;
    } else {
      r.value = std::move(value.value);
      any_good = true;
      if (seen != nullptr) (*seen)[i] = true;
    }
    out.push_back(std::move(r));
  }
  if (any_good) {
    ++tally.good_frames;
    last_frame_ = Clock::now();
    stale_reported_.reset();
  }
  if (!bad_value.empty()) {
    refuse(frame, bad_value, ts_ms, tally);
  } else {
    raw(escape_bytes(frame.raw), "ok", ts_ms);
  }
}

void SerialLineDriver::fail_all(Quality quality, const std::string& error, std::int64_t ts_ms,
                                Batch& out, const std::vector<bool>* only_missing) const {
  for (std::size_t i = 0; i < device_.points.size(); ++i) {
    if (only_missing != nullptr && (*only_missing)[i]) continue;
    const auto& point = device_.points[i];
    out.push_back(
        Reading{device_.name, point.name, std::monostate{}, point.unit, quality, ts_ms, 0, error});
  }
}

void SerialLineDriver::poll_streaming(Clock::time_point now, bool force, Batch& out, Tally& tally) {
  const std::int64_t ts_ms = unix_ms_now();
  if (!ensure_open(ts_ms, out, tally)) return;
  std::vector<bool> seen(device_.points.size(), false);
  if (!read_into_frames(milliseconds(0), ts_ms, out, tally, &seen)) return;

  if (force) {
    // `poll --once`: wait (bounded) until a frame carried each point.
    const auto deadline = Clock::now() + device_.response_timeout;
    while (!std::all_of(seen.begin(), seen.end(), [](bool b) { return b; })) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) break;
      if (!read_into_frames(left, unix_ms_now(), out, tally, &seen)) return;
    }
    if (!std::all_of(seen.begin(), seen.end(), [](bool b) { return b; })) {
      ++health_.timeouts;
      const auto error = fmt::format("no frame carried this point within {}",
                                     config::format_duration(device_.response_timeout));
      fail_all(Quality::kTimeout, error, unix_ms_now(), out, &seen);
      if (tally.problem.empty()) tally.problem = error;
    }
    return;
  }

  const auto& stale_after = line_of(device_).stale_after;
  if (!stale_after || tally.good_frames > 0) return;
  const auto quiet = std::chrono::duration_cast<milliseconds>(now - last_frame_);
  if (quiet < *stale_after) return;
  tally.stale = true;
  tally.problem = fmt::format("stale: no frame for {}s", quiet.count() / 1000);
  if (!stale_reported_ || now - *stale_reported_ >= *stale_after) {
    ++health_.timeouts;
    fail_all(Quality::kTimeout, tally.problem, ts_ms, out);
    stale_reported_ = now;
  }
}

void SerialLineDriver::poll_request(Batch& out, Tally& tally) {
  const std::int64_t ts_ms = unix_ms_now();
  if (!ensure_open(ts_ms, out, tally)) return;
  const std::size_t before = out.size();
  // One reply per request: stale bytes of an earlier, late reply must not pass for it.
  port_.flush_input();
  framer_.reset();
  synced_ = true;
  ++health_.requests;
  const auto& request = line_of(device_).request;
  if (const auto error = port_.write_all(request, device_.response_timeout); !error.empty()) {
    lose_port(error, ts_ms, out, tally);
    return;
  }
  raw(escape_bytes(request), "sent", ts_ms);

  const auto deadline = Clock::now() + device_.response_timeout;
  while (tally.good_frames == 0 && tally.refused == 0) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    if (!read_into_frames(left, unix_ms_now(), out, tally, nullptr)) return;
  }
  if (tally.good_frames > 0) return;
  tally.failed = true;
  if (tally.refused > 0) {
    // A reply whose values did not convert has its readings already.
    if (out.size() == before) fail_all(Quality::kBadResponse, tally.problem, unix_ms_now(), out);
    return;
  }
  ++health_.timeouts;
  const auto within = config::format_duration(device_.response_timeout);
  tally.problem = framer_.pending() > 0 ? fmt::format("incomplete reply ({} bytes) within {}",
                                                      framer_.pending(), within)
                                        : fmt::format("no reply within {}", within);
  fail_all(Quality::kTimeout, tally.problem, unix_ms_now(), out);
}

void register_driver(drivers::DriverRegistry& registry) {
  registry.add({"serial-line", make_schema(),
                [](const config::DeviceConfig& device, drivers::DriverContext&) {
                  return std::unique_ptr<drivers::Driver>(
                      std::make_unique<SerialLineDriver>(device));
                },
                [](const config::DeviceConfig& device, const config::Config&) {
                  return fmt::format("serial-line on {} ({} baud, {})", line_of(device).port,
                                     line_of(device).baud, to_string(line_of(device).mode));
                }});
}

}  // namespace fieldgate::serial
