// Frame checksums of serial instruments, and the check of one frame's content
// against the configured kind, position and format. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "drivers/serial/settings.hpp"

namespace fieldgate::serial {

/// XOR of every byte (NMEA 0183: over the characters between '$' and '*').
[[nodiscard]] std::uint8_t xor8(std::string_view bytes) noexcept;
/// Sum of every byte modulo 256.
[[nodiscard]] std::uint8_t sum8(std::string_view bytes) noexcept;
/// CRC-16/MODBUS: poly 0x8005 reflected (0xA001), init 0xFFFF. "123456789" → 0x4B37.
[[nodiscard]] std::uint16_t crc16_modbus(std::string_view bytes) noexcept;
/// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected. "123456789" → 0x29B1.
[[nodiscard]] std::uint16_t crc16_ccitt(std::string_view bytes) noexcept;

/// The checksum of `covered` written as the frame carries it: two hex digits
/// for nmea-xor; for the others raw bytes (CRC-16/MODBUS low byte first as in
/// Modbus RTU, CRC-16/CCITT high byte first) or upper-case hex digits.
[[nodiscard]] std::string encode_checksum(ChecksumKind kind, ChecksumFormat format,
                                          std::string_view covered);

/// Bytes the written checksum takes (nmea-xor: 3, "*HH").
[[nodiscard]] std::size_t checksum_length(ChecksumKind kind, ChecksumFormat format) noexcept;

struct ChecksumResult {
  bool ok = true;
  std::string payload;  // the content without the checksum (and NMEA's '$' and '*HH')
  std::string error;    // "checksum 5B, computed 5A", "no '*' before the checksum", ...
};

/// Checks `content` (a frame without start byte, end byte or delimiter) and,
/// for position after-end, `trailer` (the bytes after the end byte). Hex
/// digits are accepted in either case.
[[nodiscard]] ChecksumResult verify_checksum(const SerialLineConfig& line, std::string_view content,
                                             std::string_view trailer, char end_byte);

}  // namespace fieldgate::serial
