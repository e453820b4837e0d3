// Fuzz target: frame checksums (drivers/serial/checksum.*): verify_checksum()
// on any content and trailer, and the round trip through encode_checksum().
//
// Input:
//   0  kind (% 5: none, nmea-xor, crc16-modbus, crc16-ccitt, sum8); bit 4:
//      hex format; bit 5: position after-end
//   1  end byte
//   then a length-prefixed trailer, the rest: the content
//
// Checks: verify_checksum never fails without saying why, and a good frame's
// payload is what was covered; a frame made of any payload plus its own
// encode_checksum() is accepted and gives that payload back (also with the
// checksum's hex digits in lower case); the same frame with its first byte
// changed is refused (every supported checksum catches any one-byte change).
#include <cctype>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "drivers/serial/checksum.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using namespace fieldgate;
using serial::ChecksumFormat;
using serial::ChecksumKind;
using serial::ChecksumPosition;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  serial::SerialLineConfig line;
  const std::uint8_t settings = in.byte();
  line.checksum = static_cast<ChecksumKind>(settings % 5);
  line.checksum_format = (settings & 0x10) != 0 ? ChecksumFormat::kHex : ChecksumFormat::kBinary;
  line.checksum_position =
      (settings & 0x20) != 0 ? ChecksumPosition::kAfterEnd : ChecksumPosition::kEnd;
  const char end_byte = static_cast<char>(in.byte());
  const std::string trailer = in.text(8);
  const std::string_view content = in.rest();

  const serial::ChecksumResult any = serial::verify_checksum(line, content, trailer, end_byte);
  FUZZ_CHECK(any.ok == any.error.empty());

  if (line.checksum == ChecksumKind::kNone) {
    FUZZ_CHECK(any.ok && any.payload == content);
    return 0;
  }
  // The frame an instrument would send for `content` as its payload.
  const bool after_end = line.checksum_position == ChecksumPosition::kAfterEnd &&
                         line.checksum != ChecksumKind::kNmeaXor;
  const std::string payload(content);
  std::string framed;
  std::string written;
  if (line.checksum == ChecksumKind::kNmeaXor) {
    written = serial::encode_checksum(line.checksum, line.checksum_format, payload);
    framed = "$" + payload + "*" + written;
  } else if (after_end) {
    written = serial::encode_checksum(line.checksum, line.checksum_format, payload + end_byte);
    framed = payload;
  } else {
    written = serial::encode_checksum(line.checksum, line.checksum_format, payload);
    framed = payload + written;
  }
  const std::string_view tail = after_end ? std::string_view(written) : std::string_view();
  const serial::ChecksumResult good = serial::verify_checksum(line, framed, tail, end_byte);
  FUZZ_CHECK(good.ok && good.payload == payload);
  FUZZ_CHECK(written.size() ==
             (line.checksum == ChecksumKind::kNmeaXor
                  ? 2
                  : serial::checksum_length(line.checksum, line.checksum_format)));

  const bool hex =
      line.checksum == ChecksumKind::kNmeaXor || line.checksum_format == ChecksumFormat::kHex;
  if (hex) {
    const std::string lowered = lower(written);
    const std::string framed_lower =
        after_end ? framed : framed.substr(0, framed.size() - written.size()) + lowered;
    const std::string_view tail_lower = after_end ? std::string_view(lowered) : tail;
    const serial::ChecksumResult low =
        serial::verify_checksum(line, framed_lower, tail_lower, end_byte);
    FUZZ_CHECK(low.ok && low.payload == payload);
  }

  // One changed byte of the payload: every supported checksum notices.
  if (!payload.empty()) {
    std::string damaged = framed;
    const std::size_t at = line.checksum == ChecksumKind::kNmeaXor ? 1 : 0;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x01);
    const serial::ChecksumResult bad = serial::verify_checksum(line, damaged, tail, end_byte);
    FUZZ_CHECK(!bad.ok);
  }
  return 0;
}
