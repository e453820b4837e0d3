#include "drivers/serial/checksum.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "drivers/serial/escape.hpp"

namespace fieldgate::serial {
namespace {


std::optional<std::uint32_t> parse_hex(std::string_view digits) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return value;
}

// The value of a written checksum, in the byte order encode_checksum writes.
std::optional<std::uint32_t> read_written(ChecksumKind kind, ChecksumFormat format,
                                          std::string_view written) {
  if (format == ChecksumFormat::kHex) return parse_hex(written);
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(written[i]); };
  if (kind == ChecksumKind::kSum8) return byte(0);
  if (kind == ChecksumKind::kCrc16Modbus) return byte(0) | (byte(1) << 8);
  return (byte(0) << 8) | byte(1);
}

std::uint32_t compute(ChecksumKind kind, std::string_view covered) {
  switch (kind) {
    case ChecksumKind::kNmeaXor:
      return xor8(covered);
    case ChecksumKind::kSum8:
      return sum8(covered);
    case ChecksumKind::kCrc16Modbus:
      return crc16_modbus(covered);
    case ChecksumKind::kCrc16Ccitt:
      return crc16_ccitt(covered);
    case ChecksumKind::kNone:
      break;
  }
  return 0;
}

std::string show(ChecksumKind kind, std::uint32_t value) {
  return kind == ChecksumKind::kCrc16Modbus || kind == ChecksumKind::kCrc16Ccitt
             ? fmt::format("{:04X}", value)
             : fmt::format("{:02X}", value);
}

ChecksumResult verify_nmea(std::string_view content) {
  ChecksumResult r;
  if (!content.empty() && (content.front() == '$' || content.front() == '!')) {
    content.remove_prefix(1);
  }
  const auto star = content.rfind('*');
  if (star == std::string_view::npos) {
    return {false, {}, "no '*' before the checksum"};
  }
  const std::string_view written = content.substr(star + 1);
  const auto value = written.size() == 2 ? parse_hex(written) : std::nullopt;
  if (!value) {
    return {false,
            {},
            fmt::format("expected two hex digits after '*', got \"{}\"", escape_bytes(written))};
  }
  const std::string_view covered = content.substr(0, star);
  const auto computed = xor8(covered);
  if (*value != computed) {
    return {false, {}, fmt::format("checksum {}, computed {:02X}", written, computed)};
  }
  r.payload = std::string(covered);
  return r;
}

}  // namespace

std::uint8_t xor8(std::string_view bytes) noexcept {
  std::uint8_t x = 0;
  for (const char c : bytes) x ^= static_cast<std::uint8_t>(c);
  return x;
}

std::uint8_t sum8(std::string_view bytes) noexcept {
  std::uint8_t s = 0;
  for (const char c : bytes) s = static_cast<std::uint8_t>(s + static_cast<std::uint8_t>(c));
  return s;
}

std::uint16_t crc16_modbus(std::string_view bytes) noexcept {
  std::uint16_t crc = 0xFFFF;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 1) != 0 ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001)
                           : static_cast<std::uint16_t>(crc >> 1);
    }
  }
  return crc;
}

std::uint16_t crc16_ccitt(std::string_view bytes) noexcept {
  std::uint16_t crc = 0xFFFF;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint16_t>(static_cast<std::uint8_t>(c) << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::size_t checksum_length(ChecksumKind kind, ChecksumFormat format) noexcept {
  switch (kind) {
    case ChecksumKind::kNone:
      return 0;
    case ChecksumKind::kNmeaXor:
      return 3;
    case ChecksumKind::kSum8:
      return format == ChecksumFormat::kHex ? 2 : 1;
    case ChecksumKind::kCrc16Modbus:
    case ChecksumKind::kCrc16Ccitt:
      return format == ChecksumFormat::kHex ? 4 : 2;
  }
  return 0;
}

std::string encode_checksum(ChecksumKind kind, ChecksumFormat format, std::string_view covered) {
  const std::uint32_t value = compute(kind, covered);
  if (kind == ChecksumKind::kNone) return {};
  if (kind == ChecksumKind::kNmeaXor) return fmt::format("{:02X}", value);
  if (format == ChecksumFormat::kHex) return show(kind, value);
  const auto lo = static_cast<char>(value & 0xFF);
  const auto hi = static_cast<char>((value >> 8) & 0xFF);
  if (kind == ChecksumKind::kSum8) return std::string(1, lo);
  return kind == ChecksumKind::kCrc16Modbus ? std::string{lo, hi} : std::string{hi, lo};
}

ChecksumResult verify_checksum(const SerialLineConfig& line, std::string_view content,
                               std::string_view trailer, char end_byte) {
  const ChecksumKind kind = line.checksum;
  if (kind == ChecksumKind::kNone) return {true, std::string(content), {}};
  if (kind == ChecksumKind::kNmeaXor) return verify_nmea(content);

  const std::size_t n = checksum_length(kind, line.checksum_format);
  std::string covered;
  std::string_view written;
  std::string payload;
  if (line.checksum_position == ChecksumPosition::kAfterEnd) {
    // STX excluded, ETX included: the usual block check of STX/ETX protocols.
    covered = std::string(content) + end_byte;
    written = trailer;
    payload = std::string(content);
  } else {
    if (content.size() < n) {
      return {false,
              {},
              fmt::format("frame of {} bytes is shorter than its checksum ({} bytes)",
                          content.size(), n)};
    }
    covered = std::string(content.substr(0, content.size() - n));
    written = content.substr(content.size() - n);
    payload = covered;
  }
  const auto value =
      written.size() == n ? read_written(kind, line.checksum_format, written) : std::nullopt;
  if (!value) {
    return {false, {}, fmt::format("unreadable checksum \"{}\"", escape_bytes(written))};
  }
  const auto computed = compute(kind, covered);
  if (*value != computed) {
    return {false,
            {},
            fmt::format("checksum {}, computed {}", show(kind, *value), show(kind, computed))};
  }
  return {true, std::move(payload), {}};
}

}  // namespace fieldgate::serial
