// Modbus device identification (43/14) answers as hostile input: the parser
// keeps within the frame, keeps text printable and short, and says why it
// refuses an answer.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "drivers/modbus/device_id.hpp"

namespace fieldgate::modbus {
namespace {

std::vector<std::uint8_t> answer(const std::vector<std::pair<int, std::string>>& objects) {
  std::vector<std::uint8_t> pdu{
      0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, static_cast<std::uint8_t>(objects.size())};
  for (const auto& [id, text] : objects) {
    pdu.push_back(static_cast<std::uint8_t>(id));
    pdu.push_back(static_cast<std::uint8_t>(text.size()));
    pdu.insert(pdu.end(), text.begin(), text.end());
  }
  return pdu;
}

TEST(DeviceIdentificationTest, ReadsTheBasicObjects) {
  std::string error;
  const auto id =
      parse_device_identification(answer({{0, "Eastron"}, {1, "SDM630"}, {2, "2.0"}}), error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(id->vendor, "Eastron");
  EXPECT_EQ(id->product_code, "SDM630");
  EXPECT_EQ(id->revision, "2.0");
  EXPECT_EQ(id->objects.size(), 3u);
}

TEST(DeviceIdentificationTest, AnExceptionMeansNotSupported) {
  std::string error;
  const std::vector<std::uint8_t> pdu{0xAB, 0x01};
  EXPECT_FALSE(parse_device_identification(pdu, error));
  EXPECT_EQ(error, "not supported (exception 1)");
}

TEST(DeviceIdentificationTest, AnObjectLongerThanTheFrameIsRefused) {
  auto pdu = answer({{0, "Eastron"}});
  pdu[8] = 200;  // the length byte of object 0
  std::string error;
  EXPECT_FALSE(parse_device_identification(pdu, error));
  EXPECT_EQ(error, "object 0 (200 bytes) overruns the answer");
}

TEST(DeviceIdentificationTest, MissingObjectsAndShortFramesAreRefused) {
  auto pdu = answer({{0, "Eastron"}});
  pdu[6] = 3;  // says three objects, holds one
  std::string error;
  EXPECT_FALSE(parse_device_identification(pdu, error));
  EXPECT_EQ(error, "object 2 of 3 is missing");
  const std::vector<std::uint8_t> short_frame{0x2B, 0x0E, 0x01};
  EXPECT_FALSE(parse_device_identification(short_frame, error));
  EXPECT_EQ(error, "not an answer to 43/14");
  EXPECT_FALSE(parse_device_identification({}, error));
}

TEST(DeviceIdentificationTest, TooManyObjectsAreRefused) {
  auto pdu = answer({{0, "x"}});
  pdu[6] = 200;
  std::string error;
  EXPECT_FALSE(parse_device_identification(pdu, error));
  EXPECT_EQ(error, "200 objects, more than 32");
}

TEST(DeviceIdentificationTest, TextIsKeptPrintableAndShort) {
  std::string error;
  const auto id = parse_device_identification(
      answer({{0, std::string("Ea\x01st\xffron")}, {1, std::string(200, 'A')}}), error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(id->vendor, "Ea?st?ron");
  EXPECT_EQ(id->product_code, std::string(kMaxIdentificationText, 'A'));
}

TEST(DeviceIdentificationTest, EmptyTextIsNoIdentification) {
  std::string error;
  EXPECT_FALSE(parse_device_identification(answer({{0, ""}, {1, ""}}), error));
  EXPECT_EQ(error, "no objects with text");
}

TEST(DeviceIdentificationTest, Crc16IsModbus) {
  // Read holding registers, unit 1, address 0, count 1: "01 03 00 00 00 01 84 0A".
  const std::vector<std::uint8_t> frame{0x01, 0x03, 0x00, 0x00, 0x00, 0x01};
  EXPECT_EQ(modbus_crc16(frame), 0x0A84);
}

}  // namespace
}  // namespace fieldgate::modbus
