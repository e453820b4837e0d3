#include "drivers/serial/framer.hpp"

#include <algorithm>

#include "drivers/serial/checksum.hpp"

namespace fieldgate::serial {

using config::Framing;

Framer::Framer(const config::SerialLineConfig& line)
    : framing_(line.framing),
      // The loader refuses an empty delimiter; be safe anyway.
      delimiter_(line.delimiter.empty() ? std::string(1, '\n') : line.delimiter),
      start_byte_(line.start_byte.value_or(-1)),
      end_byte_(line.end_byte.value_or(-1)),
      max_content_(static_cast<std::size_t>(line.max_frame)),
      frame_length_(static_cast<std::size_t>(line.frame_length)),
      trailer_length_(line.checksum_position == config::ChecksumPosition::kAfterEnd
                          ? checksum_length(line.checksum, line.checksum_format)
                          : 0),
      strip_cr_(delimiter_ == "\n") {}

void Framer::reset() noexcept {
  buffer_.clear();
  discarding_ = false;
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
    if (!discarding_ && !buffer_.empty()) out.push_back({Frame::Kind::kGarbage, buffer_, {}, {}});
    buffer_.clear();
    return false;
  }
  if (start > 0 && !discarding_) {
    out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, start), {}, {}});
  }
  buffer_.erase(0, start);
  discarding_ = false;
  return true;
}

void Framer::delimited(std::vector<Frame>& out) {
  const bool has_start = start_byte_ >= 0;
  const char start = static_cast<char>(start_byte_);
  while (!buffer_.empty()) {
    if (discarding_) {
      // The tail of an oversize frame: drop it up to the next frame start.
      const auto delim = buffer_.find(delimiter_);
      const auto next = has_start ? buffer_.find(start) : std::string::npos;
      if (next != std::string::npos && (delim == std::string::npos || next < delim)) {
        buffer_.erase(0, next);
      } else if (delim != std::string::npos) {
        buffer_.erase(0, delim + delimiter_.size());
      } else {
        // Keep what could be the first bytes of a delimiter split across reads.
        const std::size_t keep = delimiter_.size() - 1;
        if (buffer_.size() > keep) buffer_.erase(0, buffer_.size() - keep);
        return;
      }
      discarding_ = false;
      continue;
    }

    const auto delim = buffer_.find(delimiter_);
    if (delim == std::string::npos) {
      // As when the delimiter is here (rfind below): the frame begins at the
      // last start byte, and one before it was cut short. Measuring from the
      // first would call an oversize what is a cut-short frame and a good one.
      if (has_start) {
        const auto last = buffer_.rfind(start);
        if (last == std::string::npos) {
          out.push_back({Frame::Kind::kGarbage, buffer_, {}, {}});
          buffer_.clear();
          return;
        }
        if (last > 0) {
          out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, last), {}, {}});
          buffer_.erase(0, last);
        }
      }
      // Content, start byte, a partial delimiter and CRLF's '\r' may be waiting.
      const std::size_t allowed =
          max_content_ + (has_start ? 1 : 0) + delimiter_.size() - 1 + (strip_cr_ ? 1 : 0);
      if (buffer_.size() > allowed) {
        oversize(out, max_content_ + (has_start ? 1 : 0));
        // Keep what may be the first bytes of the delimiter that ends it.
        buffer_.erase(0, buffer_.size() - (delimiter_.size() - 1));
        discarding_ = true;
      }
      return;
    }

    const std::size_t end = delim + delimiter_.size();
    std::string_view line(buffer_.data(), delim);
    std::size_t begin = 0;
    if (has_start) {
      const auto s = line.rfind(start);
      if (s == std::string_view::npos) {
        out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, end), {}, {}});
        buffer_.erase(0, end);
        continue;
      }
      if (s > 0) out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, s), {}, {}});
      begin = s;
      line.remove_prefix(s + 1);
    }
    if (strip_cr_ && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > max_content_) {
      out.push_back({Frame::Kind::kOversize,
                     buffer_.substr(begin, max_content_ + (has_start ? 1 : 0)),
                     {},
                     {}});
    } else if (!line.empty() || has_start) {
      // A blank line (keep-alive, CRLF pairs) is no frame; "$" + delimiter is one.
      out.push_back(
          {Frame::Kind::kFrame, buffer_.substr(begin, end - begin), std::string(line), {}});
    }
    buffer_.erase(0, end);
  }
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
      out.push_back({Frame::Kind::kGarbage, buffer_.substr(0, restart), {}, {}});
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
