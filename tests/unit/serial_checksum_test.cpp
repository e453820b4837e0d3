// Frame checksums with published check values ("123456789", the CRC catalogue's
// input) and a real NMEA 0183 sentence, then verify_checksum() for every kind,
// format and position, good and corrupted.
#include <gtest/gtest.h>

#include <string>

#include "drivers/serial/checksum.hpp"

namespace fieldgate::serial {
namespace {

TEST(SerialChecksumTest, KnownCheckValues) {
  EXPECT_EQ(crc16_modbus("123456789"), 0x4B37);  // CRC-16/MODBUS check value
  EXPECT_EQ(crc16_ccitt("123456789"), 0x29B1);   // CRC-16/CCITT-FALSE check value
  EXPECT_EQ(sum8("123456789"), 0xDD);            // 0x1DD mod 256
  EXPECT_EQ(xor8("123456789"), 0x31);
  // A Modbus RTU request whose CRC is well known: 01 03 00 00 00 0A → C5 CD (low byte first).
  EXPECT_EQ(crc16_modbus(std::string("\x01\x03\x00\x00\x00\x0A", 6)), 0xCDC5);
}

TEST(SerialChecksumTest, NmeaSentenceFromTheStandardVerifies) {
  serial::SerialLineConfig line;
  line.checksum = ChecksumKind::kNmeaXor;
  const auto r = verify_checksum(
      line, "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47", "", 0);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.payload, "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,");
}

TEST(SerialChecksumTest, NmeaCardioLineAndItsFailures) {
  serial::SerialLineConfig line;
  line.checksum = ChecksumKind::kNmeaXor;
  const std::string body = "HR,72,SPO2,98,RESP,16,NIBP,120/80";
  const std::string good = "$" + body + "*" + encode_checksum(ChecksumKind::kNmeaXor, {}, body);
  EXPECT_TRUE(verify_checksum(line, good, "", 0).ok);
  // Without the '$' (a start byte the framer already took away) it is the same.
  EXPECT_TRUE(verify_checksum(line, good.substr(1), "", 0).ok);
  // Lower-case hex digits are accepted.
  std::string lower = good;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  lower = "$" + body + lower.substr(lower.find('*'));
  EXPECT_TRUE(verify_checksum(line, lower, "", 0).ok);

  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  const auto bad = verify_checksum(line, flipped, "", 0);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("checksum"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("computed"), std::string::npos) << bad.error;

  EXPECT_FALSE(verify_checksum(line, "$" + body, "", 0).ok);          // no '*'
  EXPECT_FALSE(verify_checksum(line, "$" + body + "*5", "", 0).ok);   // one digit
  EXPECT_FALSE(verify_checksum(line, "$" + body + "*ZZ", "", 0).ok);  // not hex
  // One changed character in the body, checksum kept: refused.
  std::string changed = good;
  changed[4] = '9';
  EXPECT_FALSE(verify_checksum(line, changed, "", 0).ok);
}

struct Case {
  ChecksumKind kind;
  ChecksumFormat format;
  ChecksumPosition position;
};

class SerialChecksumKindsTest : public ::testing::TestWithParam<Case> {};

TEST_P(SerialChecksumKindsTest, EncodedChecksumVerifiesAndACorruptedByteDoesNot) {
  const Case c = GetParam();
  serial::SerialLineConfig line;
  line.checksum = c.kind;
  line.checksum_format = c.format;
  line.checksum_position = c.position;
  const std::string payload = "W+00012.34kg";
  const char etx = '\x03';
  std::string content;
  std::string trailer;
  if (c.position == ChecksumPosition::kEnd) {
    content = payload + encode_checksum(c.kind, c.format, payload);
  } else {
    content = payload;
    trailer = encode_checksum(c.kind, c.format, payload + etx);  // ETX included
  }
  EXPECT_EQ(
      (c.position == ChecksumPosition::kEnd ? content.size() - payload.size() : trailer.size()),
      checksum_length(c.kind, c.format));
  const auto ok = verify_checksum(line, content, trailer, etx);
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.payload, payload);

  std::string corrupted = content;
  corrupted[1] = static_cast<char>(corrupted[1] ^ 0x01);
  const auto bad = verify_checksum(line, corrupted, trailer, etx);
  EXPECT_FALSE(bad.ok);
  EXPECT_FALSE(bad.error.empty());
  // Shorter than the checksum itself: refused, not read out of bounds.
  EXPECT_FALSE(verify_checksum(line, "", c.position == ChecksumPosition::kEnd ? "" : "x", etx).ok);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, SerialChecksumKindsTest,
    ::testing::Values(
        Case{ChecksumKind::kCrc16Modbus, ChecksumFormat::kBinary, ChecksumPosition::kEnd},
        Case{ChecksumKind::kCrc16Modbus, ChecksumFormat::kHex, ChecksumPosition::kEnd},
        Case{ChecksumKind::kCrc16Modbus, ChecksumFormat::kBinary, ChecksumPosition::kAfterEnd},
        Case{ChecksumKind::kCrc16Ccitt, ChecksumFormat::kBinary, ChecksumPosition::kEnd},
        Case{ChecksumKind::kCrc16Ccitt, ChecksumFormat::kHex, ChecksumPosition::kAfterEnd},
        Case{ChecksumKind::kSum8, ChecksumFormat::kBinary, ChecksumPosition::kEnd},
        Case{ChecksumKind::kSum8, ChecksumFormat::kHex, ChecksumPosition::kEnd},
        Case{ChecksumKind::kSum8, ChecksumFormat::kBinary, ChecksumPosition::kAfterEnd}));

TEST(SerialChecksumTest, BinaryByteOrders) {
  // CRC-16/MODBUS goes low byte first (as in Modbus RTU), CCITT high byte first.
  EXPECT_EQ(encode_checksum(ChecksumKind::kCrc16Modbus, ChecksumFormat::kBinary, "123456789"),
            std::string("\x37\x4B", 2));
  EXPECT_EQ(encode_checksum(ChecksumKind::kCrc16Ccitt, ChecksumFormat::kBinary, "123456789"),
            std::string("\x29\xB1", 2));
  EXPECT_EQ(encode_checksum(ChecksumKind::kCrc16Ccitt, ChecksumFormat::kHex, "123456789"), "29B1");
  EXPECT_EQ(encode_checksum(ChecksumKind::kSum8, ChecksumFormat::kHex, "123456789"), "DD");
}

TEST(SerialChecksumTest, NoneKeepsTheContent) {
  serial::SerialLineConfig line;
  const auto r = verify_checksum(line, "anything", "", 0);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.payload, "anything");
}

}  // namespace
}  // namespace fieldgate::serial
