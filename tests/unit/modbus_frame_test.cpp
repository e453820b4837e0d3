// The Modbus server's framing and answers (gateway/modbus_frame.*) and the
// drivers' register cache they read (drivers/register_cache.*), without sockets.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "drivers/register_cache.hpp"
#include "gateway/modbus_frame.hpp"

namespace fieldgate::gateway {
namespace {

using drivers::Clock;
using drivers::RegisterCache;
using drivers::RegisterTable;
using Bytes = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

Bytes frame(std::uint8_t unit, Bytes pdu, std::uint16_t tid = 0x1234) {
  Bytes out{static_cast<std::uint8_t>(tid >> 8),
            static_cast<std::uint8_t>(tid & 0xff),
            0,
            0,
            0,
            static_cast<std::uint8_t>(pdu.size() + 1),
            unit};
  out.insert(out.end(), pdu.begin(), pdu.end());
  return out;
}

class ModbusFrameTest : public ::testing::Test {
 protected:
  ModbusFrameTest()
      : cache_(std::make_shared<RegisterCache>(
            "meter", 3,
            std::vector<RegisterCache::Block>{{RegisterTable::kHolding, 10, 4, 1s},
                                              {RegisterTable::kCoils, 0, 10, 1s},
                                              {RegisterTable::kInput, 0, 2, 1s}})) {
    const std::vector<std::uint16_t> words{0x0102, 0x0304, 0x0506, 0x0708};
    cache_->store(0, words, now_);
    const std::vector<std::uint8_t> bits{1, 0, 1, 1, 0, 0, 0, 0, 1, 1};
    cache_->store_bits(1, bits, now_);
    const std::vector<std::uint16_t> old{1, 2};
    cache_->store(2, old, now_ - 3s);  // older than 2 × 1 s
    units_.by_unit[3] = cache_;
  }

  Bytes ask(const Bytes& request) {
    Bytes out;
    last_ = answer_request(request, units_, now_, out);
    return out;
  }

  Clock::time_point now_ = Clock::now();
  std::shared_ptr<RegisterCache> cache_;
  ServedUnits units_;
  Answer last_;
};

TEST_F(ModbusFrameTest, CheckFrameWaitsForTheWholeFrame) {
  const auto f = frame(3, {3, 0, 10, 0, 2});
  for (std::size_t n = 0; n < f.size(); ++n) {
    EXPECT_EQ(check_frame(std::span(f.data(), n)).kind, FrameCheck::Kind::kNeedMore) << n;
  }
  const auto whole = check_frame(f);
  EXPECT_EQ(whole.kind, FrameCheck::Kind::kFrame);
  EXPECT_EQ(whole.size, f.size());
}

TEST_F(ModbusFrameTest, CheckFrameRefusesWhatIsNotModbusTcp) {
  Bytes wrong_protocol{0, 1, 0, 7};
  EXPECT_EQ(check_frame(wrong_protocol).kind, FrameCheck::Kind::kBad);  // before the rest arrives
  Bytes lying_length{0, 1, 0, 0, 0xff, 0xff, 1, 3};
  EXPECT_EQ(check_frame(lying_length).kind, FrameCheck::Kind::kBad);
  Bytes too_short{0, 1, 0, 0, 0, 1, 1};
  EXPECT_EQ(check_frame(too_short).kind, FrameCheck::Kind::kBad);
  Bytes http{'G', 'E', 'T', ' ', '/', ' ', 'H'};
  EXPECT_EQ(check_frame(http).kind, FrameCheck::Kind::kBad);
}

TEST_F(ModbusFrameTest, ReadsHoldingRegistersFromTheCache) {
  const auto out = ask(frame(3, {3, 0, 11, 0, 2}));
  EXPECT_EQ(out, (Bytes{0x12, 0x34, 0, 0, 0, 7, 3, 3, 4, 0x03, 0x04, 0x05, 0x06}));
  EXPECT_EQ(last_.exception, ModbusException::kNone);
  EXPECT_EQ(last_.lookup, RegisterCache::Lookup::kHit);
}

TEST_F(ModbusFrameTest, ReadsCoilsPackedLeastSignificantFirst) {
  const auto out = ask(frame(3, {1, 0, 0, 0, 10}));
  EXPECT_EQ(out, (Bytes{0x12, 0x34, 0, 0, 0, 5, 3, 1, 2, 0b00001101, 0b00000011}));
}

TEST_F(ModbusFrameTest, UnpolledStaleAndUnknownAreExceptions) {
  // Register 14 is past the block: not polled.
  EXPECT_EQ(ask(frame(3, {3, 0, 11, 0, 4})), (Bytes{0x12, 0x34, 0, 0, 0, 3, 3, 0x83, 0x02}));
  EXPECT_EQ(last_.lookup, RegisterCache::Lookup::kNotPolled);
  // The input block was read 3 s ago, twice its interval is 2 s.
  EXPECT_EQ(ask(frame(3, {4, 0, 0, 0, 1})), (Bytes{0x12, 0x34, 0, 0, 0, 3, 3, 0x84, 0x02}));
  EXPECT_EQ(last_.lookup, RegisterCache::Lookup::kStale);
  // ... unless max_age allows it.
  units_.max_age = 10s;
  EXPECT_EQ(ask(frame(3, {4, 0, 0, 0, 1})), (Bytes{0x12, 0x34, 0, 0, 0, 5, 3, 4, 2, 0, 1}));
  // A unit id no device answers for.
  EXPECT_EQ(ask(frame(4, {3, 0, 10, 0, 1})), (Bytes{0x12, 0x34, 0, 0, 0, 3, 4, 0x83, 0x0A}));
}

TEST_F(ModbusFrameTest, BadQuantitiesAndLengthsAreIllegalDataValue) {
  EXPECT_EQ(ask(frame(3, {3, 0, 10, 0, 0})).back(), 0x03);
  EXPECT_EQ(ask(frame(3, {3, 0, 10, 0, 126})).back(), 0x03);
  EXPECT_EQ(ask(frame(3, {1, 0, 0, 0x07, 0xD1})).back(), 0x03);  // 2001 coils
  EXPECT_EQ(ask(frame(3, {3, 0, 10, 0})).back(), 0x03);          // a byte short
  EXPECT_EQ(ask(frame(3, {3, 0xff, 0xff, 0, 2})).back(), 0x02);  // past 65535
}

TEST_F(ModbusFrameTest, WritesToNoWritablePointAreRefusedAndOtherFunctionsUnknown) {
  for (const Bytes& pdu : {Bytes{5, 0, 0, 0xff, 0}, Bytes{6, 0, 10, 0, 42},
                           Bytes{15, 0, 0, 0, 1, 1, 1}, Bytes{16, 0, 10, 0, 1, 2, 0, 42}}) {
    const auto out = ask(frame(3, pdu));
    EXPECT_EQ(out[7], pdu[0] | 0x80);
    EXPECT_EQ(out[8], 0x02);
    EXPECT_FALSE(last_.bus);
  }
  EXPECT_EQ(ask(frame(3, {0x2b, 0x0e, 1, 0})).back(), 0x01);
  EXPECT_EQ(last_.exception, ModbusException::kIllegalFunction);
  EXPECT_EQ(ask(frame(3, {23, 0, 10, 0, 1, 0, 10, 0, 1, 2, 0, 1})).back(), 0x01);
}

// A device with a writable uint32 at holding 20..21 (scale 0.1, decoded as
// a reading would be) and a writable coil 5.
class ModbusWriteFrameTest : public ModbusFrameTest {
 protected:
  ModbusWriteFrameTest() {
    std::vector<RegisterCache::WritablePoint> writable;
    writable.push_back(
        {RegisterTable::kHolding, 20, 2, "limit", [](std::span<const std::uint16_t> w) {
           return Value{((static_cast<std::uint32_t>(w[0]) << 16) | w[1]) * 0.1};
         }});
    writable.push_back({RegisterTable::kCoils, 5, 1, "relay",
                        [](std::span<const std::uint16_t> w) { return Value{w[0] != 0}; }});
    units_.by_unit[3] = std::make_shared<RegisterCache>(
        "meter", 3, std::vector<RegisterCache::Block>{{RegisterTable::kHolding, 10, 4, 1s}},
        std::move(writable));
  }
};

TEST_F(ModbusWriteFrameTest, AWriteOfExactlyOnePointGoesToTheBus) {
  EXPECT_TRUE(ask(frame(3, {16, 0, 20, 0, 2, 4, 0, 0, 0x01, 0x2c})).empty());
  ASSERT_TRUE(last_.bus);
  EXPECT_EQ(last_.bus->kind, BusRequest::Kind::kWrite);
  EXPECT_EQ(last_.bus->point, "limit");
  EXPECT_DOUBLE_EQ(std::get<double>(last_.bus->value), 30.0);
  EXPECT_EQ(last_.bus->device->device(), "meter");

  EXPECT_TRUE(ask(frame(3, {5, 0, 5, 0xff, 0})).empty());
  ASSERT_TRUE(last_.bus);
  EXPECT_EQ(last_.bus->point, "relay");
  EXPECT_EQ(std::get<bool>(last_.bus->value), true);
  EXPECT_TRUE(ask(frame(3, {15, 0, 5, 0, 1, 1, 0})).empty());
  EXPECT_EQ(std::get<bool>(last_.bus->value), false);

  // The answer once the device confirmed: FC5/6 echo, FC15/16 address and quantity.
  const auto request = frame(3, {16, 0, 20, 0, 2, 4, 0, 0, 0x01, 0x2c});
  Bytes out;
  write_response(request, out);
  EXPECT_EQ(out, (Bytes{0x12, 0x34, 0, 0, 0, 6, 3, 16, 0, 20, 0, 2}));
}

TEST_F(ModbusWriteFrameTest, PartOfAPointOrMoreThanOneNeverReachTheBus) {
  // FC6 to one register of the two-register point, FC16 to the second only,
  // FC16 past it, a coil next to the writable one.
  for (const Bytes& pdu : {Bytes{6, 0, 20, 0, 1}, Bytes{16, 0, 21, 0, 1, 2, 0, 1},
                           Bytes{16, 0, 20, 0, 3, 6, 0, 0, 0, 1, 0, 2}, Bytes{5, 0, 4, 0xff, 0},
                           Bytes{15, 0, 5, 0, 2, 1, 3}}) {
    const auto out = ask(frame(3, pdu));
    EXPECT_EQ(out.back(), 0x02) << int(pdu[0]);
    EXPECT_FALSE(last_.bus);
  }
}

TEST_F(ModbusWriteFrameTest, LyingLengthsAndByteCountsAreIllegalDataValue) {
  for (const Bytes& pdu : {
           Bytes{16, 0, 20, 0, 2, 3, 0, 0, 1},        // byte count 3 for 2 registers
           Bytes{16, 0, 20, 0, 2, 4, 0, 0, 1},        // 4 announced, 3 sent
           Bytes{16, 0, 20, 0, 2, 4, 0, 0, 1, 2, 3},  // 4 announced, 5 sent
           Bytes{16, 0, 20, 0, 0, 0},                 // no register
           Bytes{16, 0, 20, 0, 124, 248},             // more than 123
           Bytes{15, 0, 5, 0, 1, 2, 1, 0},            // 2 bytes for one coil
           Bytes{5, 0, 5, 0x12, 0x34},                // a coil is 0xFF00 or 0
           Bytes{6, 0, 20, 0},                        // a byte short
           Bytes{16, 0, 20},                          // far too short
       }) {
    const auto out = ask(frame(3, pdu));
    EXPECT_EQ(out.back(), 0x03) << int(pdu.size());
    EXPECT_FALSE(last_.bus);
  }
}

TEST_F(ModbusFrameTest, PassthroughTurnsMissesIntoBusReads) {
  units_.passthrough = true;
  // Not polled, and stale: both go to the device.
  EXPECT_TRUE(ask(frame(3, {3, 0, 40, 0, 3})).empty());
  ASSERT_TRUE(last_.bus);
  EXPECT_EQ(last_.bus->kind, BusRequest::Kind::kRead);
  EXPECT_EQ(last_.bus->table, RegisterTable::kHolding);
  EXPECT_EQ(last_.bus->start, 40);
  EXPECT_EQ(last_.bus->count, 3);
  EXPECT_EQ(last_.lookup, RegisterCache::Lookup::kNotPolled);
  EXPECT_TRUE(ask(frame(3, {4, 0, 0, 0, 1})).empty());
  EXPECT_EQ(last_.lookup, RegisterCache::Lookup::kStale);
  // A hit still comes from the cache.
  EXPECT_FALSE(ask(frame(3, {3, 0, 11, 0, 2})).empty());
  EXPECT_FALSE(last_.bus);

  const auto request = frame(3, {1, 0, 40, 0, 3});
  Bytes out;
  const std::vector<std::uint16_t> bits{1, 0, 1};
  read_response(request, bits, out);
  EXPECT_EQ(out, (Bytes{0x12, 0x34, 0, 0, 0, 4, 3, 1, 1, 0b101}));
  exception_response(request, ModbusException::kGatewayTargetFailed, out);
  EXPECT_EQ(out, (Bytes{0x12, 0x34, 0, 0, 0, 3, 3, 0x81, 0x0B}));
}

TEST(RegisterCacheTest, NewestBlockWinsAndNothingReadIsNotPolled) {
  const auto now = Clock::now();
  RegisterCache cache("d", std::nullopt,
                      {{RegisterTable::kHolding, 0, 4, 1s}, {RegisterTable::kHolding, 2, 4, 10s}});
  std::array<std::uint16_t, 3> out{};
  EXPECT_EQ(cache.read(RegisterTable::kHolding, 1, out, now, std::nullopt),
            RegisterCache::Lookup::kNotPolled);
  const std::vector<std::uint16_t> a{10, 11, 12, 13};
  const std::vector<std::uint16_t> b{22, 23, 24, 25};
  cache.store(0, a, now - 1s);
  cache.store(1, b, now);
  EXPECT_EQ(cache.read(RegisterTable::kHolding, 1, out, now, std::nullopt),
            RegisterCache::Lookup::kHit);
  EXPECT_EQ(out, (std::array<std::uint16_t, 3>{11, 22, 23}));
  EXPECT_EQ(cache.read(RegisterTable::kInput, 1, out, now, std::nullopt),
            RegisterCache::Lookup::kNotPolled);
  EXPECT_EQ(cache.read(RegisterTable::kHolding, 1, out, now + 5s, std::nullopt),
            RegisterCache::Lookup::kStale);
}

}  // namespace
}  // namespace fieldgate::gateway
