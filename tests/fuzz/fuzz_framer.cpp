// Fuzz target: the serial Framer (drivers/serial/framer.*), on any byte
// stream, under any configuration the loader accepts, fed in random chunks.
//
// Input: 8 header bytes, then the stream.
//   0  framing (% 3: delimiter, start-end, fixed); bit 7: a start byte for
//      delimiter/fixed framing
//   1  delimiter (% 8: "\n", "\r\n", "\r", ETX, ";", "END", "\r\n\r\n", or
//      byte 2 as a one-byte delimiter)
//   2  start byte        3  end byte
//   4-5 max_frame (delimiter, start-end) or frame_length (fixed), 1..512
//   6  checksum (% 5 kind, bit 4 hex, bit 5 after-end), made valid for the framing
//   7  seed of the chunk sizes (0: one byte at a time)
//
// Checks: the good frames do not depend on how the stream was split into
// reads; no frame's content is longer than max_frame (fixed: every frame is
// frame_length bytes); what the framer holds stays bounded; each frame's raw
// bytes contain its content. Every good frame also goes through
// verify_checksum.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/serial/checksum.hpp"
#include "drivers/serial/framer.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using fieldgate::serial::ChecksumFormat;
using fieldgate::serial::ChecksumKind;
using fieldgate::serial::ChecksumPosition;
using fieldgate::serial::Frame;
using fieldgate::serial::Framer;
using fieldgate::serial::Framing;
using fieldgate::serial::SerialLineConfig;

// A configuration as the loader would accept it (drivers/serial/schema.cpp).
SerialLineConfig make_config(fieldgate::fuzz::FuzzInput& in) {
  SerialLineConfig c;
  const std::uint8_t framing = in.byte();
  const std::uint8_t delimiter = in.byte();
  const std::uint8_t start = in.byte();
  const std::uint8_t end = in.byte();
  const int size = 1 + static_cast<int>(in.u16() % 512);
  const std::uint8_t checksum = in.byte();

  c.framing = static_cast<Framing>(framing % 3);
  static const std::string kDelimiters[] = {"\n", "\r\n", "\r", "\x03", ";", "END", "\r\n\r\n"};
  c.delimiter =
      (delimiter % 8) < 7 ? kDelimiters[delimiter % 8] : std::string(1, static_cast<char>(start));
  if (c.framing == Framing::kStartEnd || (framing & 0x80) != 0) c.start_byte = start;
  // The loader refuses a start byte that is part of the delimiter.
  if (c.framing == Framing::kDelimiter && c.start_byte &&
      c.delimiter.find(static_cast<char>(start)) != std::string::npos) {
    c.start_byte.reset();
  }
  if (c.framing == Framing::kStartEnd) c.end_byte = start == end ? start ^ 1 : end;
  c.max_frame = size;

  c.checksum = static_cast<ChecksumKind>(checksum % 5);
  c.checksum_format = (checksum & 0x10) != 0 ? ChecksumFormat::kHex : ChecksumFormat::kBinary;
  c.checksum_position =
      (checksum & 0x20) != 0 ? ChecksumPosition::kAfterEnd : ChecksumPosition::kEnd;
  switch (c.framing) {
    case Framing::kDelimiter:
      // nmea-xor or a hex checksum before the delimiter.
      c.checksum_position = ChecksumPosition::kEnd;
      if (c.checksum != ChecksumKind::kNmeaXor) c.checksum_format = ChecksumFormat::kHex;
      break;
    case Framing::kStartEnd:
      if (c.checksum == ChecksumKind::kNmeaXor) c.checksum = ChecksumKind::kNone;
      if (c.checksum_position == ChecksumPosition::kEnd) c.checksum_format = ChecksumFormat::kHex;
      break;
    case Framing::kFixed: {
      if (c.checksum == ChecksumKind::kNmeaXor) c.checksum = ChecksumKind::kNone;
      c.checksum_position = ChecksumPosition::kEnd;
      const int overhead =
          static_cast<int>(fieldgate::serial::checksum_length(c.checksum, c.checksum_format)) +
          (c.start_byte ? 1 : 0);
      c.frame_length = std::max(size, overhead + 1);
      break;
    }
  }
  if (c.checksum == ChecksumKind::kNone) {
    c.checksum_position = ChecksumPosition::kEnd;
    c.checksum_format = ChecksumFormat::kBinary;
  }
  return c;
}

struct Good {
  std::string raw, content, trailer;
  bool operator==(const Good&) const = default;
};

// Bytes the framer may hold between reads: one frame's worth of content plus
// its start byte, delimiter (or end byte), a CR and the trailer.
std::size_t holding_bound(const SerialLineConfig& c) {
  if (c.framing == Framing::kFixed) return static_cast<std::size_t>(c.frame_length);
  return static_cast<std::size_t>(c.max_frame) + 1 + c.delimiter.size() + 1 +
         fieldgate::serial::checksum_length(c.checksum, c.checksum_format);
}

void collect(const SerialLineConfig& c, std::vector<Frame>&& frames, std::vector<Good>& good) {
  for (Frame& f : frames) {
    if (f.kind != Frame::Kind::kFrame) continue;
    if (c.framing == Framing::kFixed) {
      FUZZ_CHECK(f.raw.size() == static_cast<std::size_t>(c.frame_length));
    } else {
      FUZZ_CHECK(f.content.size() <= static_cast<std::size_t>(c.max_frame));
    }
    FUZZ_CHECK(f.raw.find(f.content) != std::string::npos);
    const char end = static_cast<char>(c.end_byte.value_or(0));
    (void)fieldgate::serial::verify_checksum(c, f.content, f.trailer, end);
    good.push_back({std::move(f.raw), std::move(f.content), std::move(f.trailer)});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fieldgate::fuzz::FuzzInput in(data, size);
  const SerialLineConfig config = make_config(in);
  const std::uint8_t chunking = in.byte();
  const bool bytewise = chunking == 0;
  std::uint32_t chunk_seed = chunking;
  const std::string_view stream = in.rest();
  const std::size_t bound = holding_bound(config);

  Framer whole(config);
  std::vector<Good> whole_frames;
  collect(config, whole.feed(stream), whole_frames);

  Framer split(config);
  std::vector<Good> split_frames;
  std::size_t at = 0;
  while (at < stream.size()) {
    chunk_seed = chunk_seed * 1103515245U + 12345U;  // an LCG: sizes 1..16
    const std::size_t n = bytewise ? 1 : 1 + (chunk_seed >> 16) % 16;
    collect(config, split.feed(stream.substr(at, n)), split_frames);
    FUZZ_CHECK(split.pending() <= bound);
    at += n;
  }
  FUZZ_CHECK(whole.pending() <= bound);
  FUZZ_CHECK(whole_frames == split_frames);
  return 0;
}
