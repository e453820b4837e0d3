#include "drivers/serial/framer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "drivers/serial/checksum.hpp"
#include "drivers/serial/escape.hpp"

namespace fieldgate::serial {


namespace {

constexpr std::string_view kLineEndBytes = "\r\n";

bool all_line_end(std::string_view s) {
  return !s.empty() && s.find_first_not_of(kLineEndBytes) == std::string_view::npos;
}

}  // namespace

Framer::Framer(const SerialLineConfig& line)
    : framing_(line.framing),
      // The loader refuses an empty delimiter; be safe anyway. With
      // any-line-end, each line end byte is a one-byte delimiter.
      delimiter_(line.any_line_end || line.delimiter.empty() ? std::string(1, '\n')
                                                             : line.delimiter),
      start_byte_(line.start_byte.value_or(-1)),
      end_byte_(line.end_byte.value_or(-1)),
      max_content_(static_cast<std::size_t>(line.max_frame)),
      frame_length_(static_cast<std::size_t>(line.frame_length)),
      trailer_length_(line.checksum_position == ChecksumPosition::kAfterEnd
                          ? checksum_length(line.checksum, line.checksum_format)
                          : 0),
      any_line_end_(line.any_line_end),
      line_mode_(line.any_line_end || all_line_end(delimiter_)) {}

void Framer::reset() noexcept {
  buffer_.clear();
  discarding_ = false;
  line_started_ = false;
}

std::vector<Frame> Framer::feed(std::string_view bytes) {
  std::vector<Frame> out;
  buffer_.append(bytes);
  switch (framing_) {
    case Framing::kDelimiter:
      delimited(out);
      break;
    case Framing::kStartEnd:
      start_end(out);
      break;
    case Framing::kFixed:
      fixed(out);
      break;
  }
  return out;
}

void Framer::oversize(std::vector<Frame>& out, std::size_t length) {
  Frame f;
  f.kind = Frame::Kind::kOversize;
  f.raw = buffer_.substr(0, std::min(length, buffer_.size()));
  out.push_back(std::move(f));
}

bool Framer::skip_to_start(std::vector<Frame>& out) {
  const auto start = buffer_.find(static_cast<char>(start_byte_));
  if (start == std::string::npos) {
    // The rest of an oversize frame is not news; other stray bytes are.
    if (!discarding_ && !buffer_.empty()) {
      out.push_back({Frame::Kind::kGarbage, buffer_, {}, {}, {}});
    }
    buffer_.clear();
    return false;
  }
  if (start > 0 && !discarding_) {
    out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, start), {}, {}, {}});
  }
  buffer_.erase(0, start);
  discarding_ = false;
  return true;
}

std::pair<std::size_t, std::size_t> Framer::find_end(std::size_t from) const {
  if (any_line_end_) return {buffer_.find_first_of(kLineEndBytes, from), 1};
  return {buffer_.find(delimiter_, from), delimiter_.size()};
}

// Content, start byte, a partial delimiter and a line end byte the line drops
// (CRLF's '\r' with delimiter "\n") may be waiting for the delimiter.
std::size_t Framer::pending_allowed() const {
  const bool dropped_byte = line_mode_ && !any_line_end_ && delimiter_.size() == 1;
  return max_content_ + (start_byte_ >= 0 ? 1 : 0) + delimiter_.size() - 1 + (dropped_byte ? 1 : 0);
}

std::optional<std::pair<std::size_t, std::size_t>> Framer::find_stray_line_end(
    std::size_t limit) const {
  if (!line_mode_ || any_line_end_) return std::nullopt;
  // Line end bytes before any content are the rest of the previous line's end,
  // unless the line's content came before the buffer (an oversize line trimmed).
  const auto content = line_started_ ? 0 : buffer_.find_first_not_of(kLineEndBytes);
  if (content >= limit) return std::nullopt;
  const auto at = buffer_.find_first_of(kLineEndBytes, content);
  if (at >= limit) return std::nullopt;
  // A run that reaches the limit may be (the start of) the delimiter.
  const auto after = buffer_.find_first_not_of(kLineEndBytes, at);
  if (after >= limit) return std::nullopt;
  return std::pair{at, after};
}

void Framer::emit_line(std::vector<Frame>& out, std::size_t begin, std::size_t stop,
                       std::size_t end, const std::string& problem) {
  const bool has_start = start_byte_ >= 0;
  std::string_view line(buffer_.data() + begin, stop - begin);
  if (line_mode_) {
    // Line end bytes are never content: before (the rest of a CRLF, an LFCR
    // device) and after (CRLF read with "\n"); a blank line is no frame.
    const auto first = line.find_first_not_of(kLineEndBytes);
    if (first == std::string_view::npos) return;
    line = line.substr(0, line.find_last_not_of(kLineEndBytes) + 1);
    line.remove_prefix(first);
    begin += first;
  }
  const std::size_t content_end = begin + line.size();
  if (has_start) {
    const auto s = line.rfind(static_cast<char>(start_byte_));
    if (s == std::string_view::npos) {
      out.push_back({Frame::Kind::kGarbage, buffer_.substr(begin, end - begin), {}, {}, {}});
      return;
    }
    if (s > 0) out.push_back({Frame::Kind::kGarbage, buffer_.substr(begin, s), {}, {}, {}});
    begin += s;
    line.remove_prefix(s + 1);
  }
  if (line.size() > max_content_) {
    out.push_back({Frame::Kind::kOversize,
                   buffer_.substr(begin, max_content_ + (has_start ? 1 : 0)),
                   {},
                   {},
                   {}});
  } else if (!line.empty() || has_start) {
    // A blank line (keep-alive) is no frame; "$" + delimiter is one.
    out.push_back(
        {Frame::Kind::kFrame, raw_line(begin, content_end, end), std::string(line), {}, problem});
  }
}

// The raw bytes of a line: its content and the line end bytes after it, of
// which (in line framing) only the last delimiter + 1: a run of stray "\r"s
// is held that short while it is read (collapse_line_ends), so the raw bytes
// do not depend on how the line was split into reads.
std::string Framer::raw_line(std::size_t begin, std::size_t content_end, std::size_t end) const {
  if (!line_mode_ || any_line_end_) return buffer_.substr(begin, end - begin);
  const std::size_t run = std::min(end - content_end, delimiter_.size() + 1);
  return buffer_.substr(begin, content_end - begin) + buffer_.substr(end - run, run);
}

// With no frame end in the buffer, no run of line end bytes holds a
// delimiter: only the last bytes of the trailing run can still become one
// (kept: the delimiter and one more, a CR before it), and a leading run
// before content is the rest of the previous line's end. Keeps a line of
// stray "\r"s from growing the buffer, and its content measurable.
void Framer::collapse_line_ends() {
  if (!line_mode_ || any_line_end_) return;
  const std::size_t run_keep = delimiter_.size() + 1;
  const auto first_content = buffer_.find_first_not_of(kLineEndBytes);
  if (first_content == std::string::npos) {
    const std::size_t keep = line_started_ ? run_keep : delimiter_.size() - 1;
    if (buffer_.size() > keep) buffer_.erase(0, buffer_.size() - keep);
    return;
  }
  const auto last_content = buffer_.find_last_not_of(kLineEndBytes);
  const std::size_t trailing = buffer_.size() - last_content - 1;
  if (trailing > run_keep) buffer_.erase(last_content + 1, trailing - run_keep);
  if (!line_started_) buffer_.erase(0, first_content);
}

// More than one frame's content is waiting, without its end.
bool Framer::over_limit() const {
  if (!line_mode_ || any_line_end_) return buffer_.size() > pending_allowed();
  // Line end bytes are not content (after collapse_line_ends, content starts
  // the buffer unless a run of them follows an oversize line's dropped front).
  const auto first_content = buffer_.find_first_not_of(kLineEndBytes);
  if (first_content == std::string::npos) return false;
  const auto last_content = buffer_.find_last_not_of(kLineEndBytes);
  return last_content + 1 - first_content > max_content_ + (start_byte_ >= 0 ? 1 : 0);
}

void Framer::delimited(std::vector<Frame>& out) {
  const bool has_start = start_byte_ >= 0;
  const char start = static_cast<char>(start_byte_);
  while (!buffer_.empty()) {
    const auto [delim, delim_size] = find_end(0);
    // A line end other than the delimiter, with content after it: that line
    // ended there. Cut off as soon as it is known (so how the bytes were split
    // into reads changes nothing) and refused with the reason, never dropped
    // as noise or left to grow into an oversize frame.
    const auto stray = find_stray_line_end(std::min(delim, buffer_.size()));
    if (discarding_) {
      // The tail of an oversize frame: drop it up to the next frame start.
      const auto next = has_start ? buffer_.find(start) : std::string::npos;
      const std::size_t line_end = stray ? stray->first : delim;
      if (next != std::string::npos && (line_end == std::string::npos || next < line_end)) {
        buffer_.erase(0, next);
      } else if (stray) {
        buffer_.erase(0, stray->second);
      } else if (delim != std::string::npos) {
        buffer_.erase(0, delim + delim_size);
      } else {
        // Still no frame end: each further max_frame bytes count as one more
        // oversize frame, so a device whose frames never end keeps showing
        // up in the counters and in `poll --raw`, not once and then never.
        collapse_line_ends();
        if (over_limit()) {
          oversize(out, max_content_ + (has_start ? 1 : 0));
          trim_to_tail();
        }
        return;
      }
      discarding_ = false;
      line_started_ = false;
      continue;
    }
    if (stray) {
      const auto [at, after] = *stray;
      emit_line(out, 0, at, after,
                fmt::format("ends with \"{}\", not the delimiter \"{}\" (delimiter = "
                            "\"any-line-end\" takes \\r\\n, \\n and \\r)",
                            escape_bytes(std::string_view(buffer_).substr(at, after - at)),
                            escape_bytes(delimiter_)));
      buffer_.erase(0, after);
      line_started_ = false;
      continue;
    }

    if (delim == std::string::npos) {
      // As when the delimiter is here (rfind below): the frame begins at the
      // last start byte, and one before it was cut short. Measuring from the
      // first would call an oversize what is a cut-short frame and a good one.
      if (has_start) {
        const auto last = buffer_.rfind(start);
        if (last == std::string::npos) {
          out.push_back({Frame::Kind::kGarbage, buffer_, {}, {}, {}});
          // No frame can start before a start byte: line ends in the garbage
          // decide nothing.
          buffer_.clear();
          line_started_ = false;
          return;
        }
        if (last > 0) {
          out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, last), {}, {}, {}});
          buffer_.erase(0, last);
        }
      }
      collapse_line_ends();
      if (over_limit()) {
        oversize(out, max_content_ + (has_start ? 1 : 0));
        trim_to_tail();
        discarding_ = true;
      }
      return;
    }

    const std::size_t end = delim + delim_size;
    emit_line(out, 0, delim, end, {});
    buffer_.erase(0, end);
    line_started_ = false;
  }
}

// Drops the front of an oversize line, keeping what the next bytes need to be
// read as they would be in one piece: the first bytes of a delimiter, and at
// least one byte of a trailing run of line ends (with content after it, that
// run is where the line ended: a stray line end).
void Framer::trim_to_tail() {
  std::size_t keep = delimiter_.size() - 1;
  if (line_mode_ && !any_line_end_) {
    const auto last_content = buffer_.find_last_not_of(kLineEndBytes);
    const std::size_t run =
        last_content == std::string::npos ? buffer_.size() : buffer_.size() - last_content - 1;
    keep = std::max(keep, run);  // at most the delimiter + 1 (collapse_line_ends)
    const std::size_t dropped = buffer_.size() - std::min(keep, buffer_.size());
    // The line has begun when any byte dropped is content.
    if (buffer_.find_first_not_of(kLineEndBytes) < dropped) line_started_ = true;
  }
  if (buffer_.size() > keep) buffer_.erase(0, buffer_.size() - keep);
}

void Framer::start_end(std::vector<Frame>& out) {
  const char start = static_cast<char>(start_byte_);
  const char stop = static_cast<char>(end_byte_);
  while (!buffer_.empty()) {
    if (!skip_to_start(out)) return;
    const auto end = buffer_.find(stop, 1);
    const auto restart = buffer_.find(start, 1);
    if (restart != std::string::npos && (end == std::string::npos || restart < end)) {
      // A new frame began before this one ended: the first was cut short.
      out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, restart), {}, {}, {}});
      buffer_.erase(0, restart);
      continue;
    }
    if (end == std::string::npos) {
      if (buffer_.size() - 1 > max_content_) {
        oversize(out, max_content_ + 1);
        buffer_.clear();
        discarding_ = true;
      }
      return;
    }
    if (end - 1 > max_content_) {
      // Too long whether or not its checksum has arrived: drop it now, as when
      // it comes in pieces, rather than hold it until the checksum does.
      oversize(out, max_content_ + 1);
      buffer_.erase(0, end + 1);
      discarding_ = true;
      continue;
    }
    const std::size_t total = end + 1 + trailer_length_;
    if (buffer_.size() < total) return;  // the checksum after the end byte is still coming
    Frame f;
    f.raw = buffer_.substr(0, total);
    f.content = buffer_.substr(1, end - 1);
    f.trailer = buffer_.substr(end + 1, trailer_length_);
    out.push_back(std::move(f));
    buffer_.erase(0, total);
  }
}

void Framer::fixed(std::vector<Frame>& out) {
  const bool has_start = start_byte_ >= 0;
  while (!buffer_.empty()) {
    if (has_start && !skip_to_start(out)) return;
    if (buffer_.size() < frame_length_) return;
    Frame f;
    f.raw = buffer_.substr(0, frame_length_);
    f.content = has_start ? f.raw.substr(1) : f.raw;
    out.push_back(std::move(f));
    buffer_.erase(0, frame_length_);
  }
}

}  // namespace fieldgate::serial
