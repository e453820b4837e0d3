// Framer: cuts the byte stream of a serial instrument into frames by
// delimiter, start/end bytes or fixed length. Bytes arrive in any split (one
// read may hold half a frame or ten frames); the framer keeps what is not yet
// a frame and never grows past the configured max_frame.
//
// Line framing (a delimiter of '\r' and '\n' bytes, or "any-line-end"): line
// end bytes are never content. Leading and trailing ones are dropped (a CRLF
// device read with "\n", an LFCR device), blank lines are skipped, and a line
// end inside a line means the device ended a line differently from the
// delimiter: that piece is refused as a bad frame saying so (Frame::problem),
// and the rest of the line is framed on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "drivers/serial/settings.hpp"

namespace fieldgate::serial {

struct Frame {
  enum class Kind {
    kFrame,     // a complete frame
    kOversize,  // longer than max_frame: discarded up to the next frame start
    kGarbage,   // bytes outside any frame (before a start byte), discarded
  };
  Kind kind = Kind::kFrame;
  std::string raw;      // the bytes as received (for oversize: the first max_frame of them)
  std::string content;  // without start byte, end byte, delimiter, trailer
  std::string trailer;  // the checksum after the end byte (checksum_position "after-end")
  /// Why a kFrame is refused although it was cut out: a line that ended in
  /// another line end than the delimiter. Empty otherwise.
  std::string problem;
};

class Framer {
 public:
  explicit Framer(const SerialLineConfig& line);

  /// Appends `bytes` and returns the frames (and discarded pieces) they complete, in order.
  [[nodiscard]] std::vector<Frame> feed(std::string_view bytes);

  /// Forgets a partial frame, e.g. after the port was reopened.
  void reset() noexcept;

  /// Bytes held for a frame not yet complete.
  [[nodiscard]] std::size_t pending() const noexcept { return buffer_.size(); }

 private:
  void delimited(std::vector<Frame>& out);
  /// Where the next delimiter starts at or after `from`, and its length.
  [[nodiscard]] std::pair<std::size_t, std::size_t> find_end(std::size_t from) const;
  /// Bytes [begin, end) of the buffer as one delimited frame whose line end
  /// (or delimiter) starts at `stop`; refused with `problem` when not empty.
  void emit_line(std::vector<Frame>& out, std::size_t begin, std::size_t stop, std::size_t end,
                 const std::string& problem);
  /// Line framing with an exact delimiter: the first run of line end bytes
  /// before `limit` that has content before and after it, as [at, after).
  [[nodiscard]] std::optional<std::pair<std::size_t, std::size_t>> find_stray_line_end(
      std::size_t limit) const;
  [[nodiscard]] std::size_t pending_allowed() const;
  void start_end(std::vector<Frame>& out);
  void fixed(std::vector<Frame>& out);
  /// Drops the bytes before the next start byte; false when there is none yet.
  bool skip_to_start(std::vector<Frame>& out);
  void oversize(std::vector<Frame>& out, std::size_t length);
  void trim_to_tail();
  void collapse_line_ends();
  [[nodiscard]] bool over_limit() const;
  [[nodiscard]] std::string raw_line(std::size_t begin, std::size_t content_end,
                                     std::size_t end) const;

  Framing framing_;
  std::string delimiter_;
  int start_byte_ = -1;  // -1: none
  int end_byte_ = -1;
  std::size_t max_content_;   // content bytes allowed in one frame
  std::size_t frame_length_;  // fixed
  std::size_t trailer_length_;
  bool any_line_end_;        // delimiter "any-line-end": "\r\n", "\n" and "\r" each end a frame
  bool line_mode_;           // the delimiter is made of '\r' and '\n': frames are lines
  bool discarding_ = false;  // after an oversize frame, until the next frame start
  // Line framing: content of the current line came before buffer_ (an oversize
  // line's front was dropped), so a line end at buffer_'s front ends it.
  bool line_started_ = false;
  std::string buffer_;
};

}  // namespace fieldgate::serial
