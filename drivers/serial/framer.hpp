// Framer: cuts the byte stream of a serial instrument into frames by
// delimiter, start/end bytes or fixed length. Bytes arrive in any split (one
// read may hold half a frame or ten frames); the framer keeps what is not yet
// a frame and never grows past the configured max_frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

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
};

class Framer {
 public:
  explicit Framer(const config::SerialLineConfig& line);

  /// Appends `bytes` and returns the frames (and discarded pieces) they complete, in order.
  [[nodiscard]] std::vector<Frame> feed(std::string_view bytes);

  /// Forgets a partial frame, e.g. after the port was reopened.
  void reset() noexcept;

  /// Bytes held for a frame not yet complete.
  [[nodiscard]] std::size_t pending() const noexcept { return buffer_.size(); }

 private:
  void delimited(std::vector<Frame>& out);
  void start_end(std::vector<Frame>& out);
  void fixed(std::vector<Frame>& out);
  /// Drops the bytes before the next start byte; false when there is none yet.
  bool skip_to_start(std::vector<Frame>& out);
  void oversize(std::vector<Frame>& out, std::size_t length);

  config::Framing framing_;
  std::string delimiter_;
  int start_byte_ = -1;  // -1: none
  int end_byte_ = -1;
  std::size_t max_content_;   // content bytes allowed in one frame
  std::size_t frame_length_;  // fixed
  std::size_t trailer_length_;
  bool strip_cr_;            // delimiter "\n": a CRLF device's '\r' is not content
  bool discarding_ = false;  // after an oversize frame, until the next frame start
  std::string buffer_;
};

}  // namespace fieldgate::serial
