// The SunSpec walker on register images built by hand: a good chain, and the
// hostile ones (no marker, lengths past the end, a chain without end, unknown
// ids, a device that stops answering).
#include <map>

#include <gtest/gtest.h>

#include "drivers/sunspec/layout.hpp"
#include "drivers/sunspec/walker.hpp"

namespace fieldgate::sunspec {
namespace {

// A device's holding registers: a sparse image; reads outside it are refused
// with an exception, as a real device refuses an illegal address.
class Image {
 public:
  void put(int address, std::initializer_list<std::uint16_t> words) {
    for (auto w : words) regs_[address++] = w;
  }
  void put_header(int address, std::uint16_t id, std::uint16_t length) {
    put(address, {id, length});
    for (int i = 0; i < length; ++i) regs_.emplace(address + 2 + i, 0);
  }
  RegisterReader reader() {
    return [this](std::uint16_t address, std::span<std::uint16_t> out) {
      ++reads;
      if (timeout_from && address >= *timeout_from)
        return ReadOutcome{Quality::kTimeout, "timeout"};
      for (std::size_t i = 0; i < out.size(); ++i) {
        auto it = regs_.find(address + static_cast<int>(i));
        if (it == regs_.end()) return ReadOutcome{Quality::kException, "illegal data address"};
        out[i] = it->second;
      }
      return ReadOutcome{};
    };
  }
  int reads = 0;
  std::optional<int> timeout_from;

 private:
  std::map<int, std::uint16_t> regs_;
};

void marker(Image& image, int base) {
  image.put(base, {kMarkerHigh, kMarkerLow});
}

TEST(SunSpecWalkerTest, WalksAChainToItsEndMarker) {
  Image image;
  marker(image, 40000);
  image.put_header(40002, 1, 66);
  image.put_header(40070, 103, 50);
  image.put_header(40122, 160, 48);
  image.put(40172, {0xFFFF, 0});
  const auto result = walk(image.reader(), {});
  ASSERT_TRUE(result.layout) << result.error;
  EXPECT_EQ(result.layout->base, 40000);
  EXPECT_EQ(result.layout->models,
            (std::vector<ModelInstance>{{1, 40002, 66}, {103, 40070, 50}, {160, 40122, 48}}));
  EXPECT_TRUE(result.notes.empty());
  EXPECT_EQ(point_prefixes(*result.layout),
            (std::vector<std::string>{"common", "inverter", "mppt"}));
}

TEST(SunSpecWalkerTest, FindsTheMarkerAt50000And0) {
  for (int base : {50000, 0}) {
    Image image;
    marker(image, base);
    image.put_header(base + 2, 1, 66);
    image.put(base + 70, {0xFFFF, 0});
    const auto result = walk(image.reader(), {});
    ASSERT_TRUE(result.layout) << base << ": " << result.error;
    EXPECT_EQ(result.layout->base, base);
  }
}

TEST(SunSpecWalkerTest, NoMarkerIsAClearError) {
  Image image;
  image.put(40000, {0x1234, 0x5678});
  const auto result = walk(image.reader(), {});
  EXPECT_FALSE(result.layout);
  EXPECT_EQ(result.quality, Quality::kBadResponse);
  EXPECT_NE(result.error.find("no SunSpec marker"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("1234 5678"), std::string::npos) << result.error;
}

TEST(SunSpecWalkerTest, UnknownIdsAreKeptAndSkippedByTheirLength) {
  Image image;
  marker(image, 40000);
  image.put_header(40002, 1, 66);
  image.put_header(40070, 64999, 10);  // a vendor model nobody decodes
  image.put_header(40082, 203, 105);
  image.put(40189, {0xFFFF, 0});
  const auto result = walk(image.reader(), {});
  ASSERT_TRUE(result.layout) << result.error;
  ASSERT_EQ(result.layout->models.size(), 3U);
  EXPECT_EQ(result.layout->models[2], (ModelInstance{203, 40082, 105}));
  ASSERT_EQ(result.notes.size(), 1U);
  EXPECT_NE(result.notes[0].find("model 64999 at 40070 (10 registers): not decoded, skipped"),
            std::string::npos)
      << result.notes[0];
  EXPECT_EQ(point_prefixes(*result.layout), (std::vector<std::string>{"common", "", "meter"}));
}

TEST(SunSpecWalkerTest, ALengthPastTheRegisterSpaceStops) {
  Image image;
  marker(image, 40000);
  image.put(40002, {103, 30000});
  const auto result = walk(image.reader(), {});
  EXPECT_FALSE(result.layout);
  EXPECT_EQ(result.error, "model 103 at 40002 has length 30000, past register 65535");
}

TEST(SunSpecWalkerTest, AChainWithoutEndStopsAtTheModelLimit) {
  Image image;
  marker(image, 0);
  for (int i = 0; i < 200; ++i) image.put_header(2 + i * 4, 64000, 2);
  WalkLimits limits;
  limits.max_models = 20;
  const auto result = walk(image.reader(), limits);
  EXPECT_FALSE(result.layout);
  EXPECT_NE(result.error.find("more than 20 models"), std::string::npos) << result.error;
  EXPECT_LE(image.reads, 3 + 21);  // bounded by the limit, not by the device
}

TEST(SunSpecWalkerTest, TheTotalLengthIsBounded) {
  Image image;
  marker(image, 0);
  image.put_header(2, 64000, 9000);
  image.put_header(9004, 64000, 9000);
  const auto result = walk(image.reader(), {});
  EXPECT_FALSE(result.layout);
  EXPECT_NE(result.error.find("more than 16384 registers"), std::string::npos) << result.error;
}

TEST(SunSpecWalkerTest, AChainRunningToTheEndOfTheSpaceStops) {
  Image image;
  marker(image, 50000);
  // Headers all the way up, each whole, never an end marker.
  int address = 50002;
  while (address + 2 + 998 <= 65536) {
    image.put_header(address, 64000, 998);
    address += 1000;
  }
  image.put_header(address, 64000, static_cast<std::uint16_t>(65536 - address - 2));  // ends it
  WalkLimits limits;
  limits.max_total_registers = 65535;
  const auto result = walk(image.reader(), limits);
  EXPECT_FALSE(result.layout);
  EXPECT_TRUE(result.error.find("past register 65535") != std::string::npos) << result.error;
}

TEST(SunSpecWalkerTest, ARefusedHeaderAfterTheLastModelEndsTheChainWithANote) {
  Image image;
  marker(image, 40000);
  image.put_header(40002, 1, 66);
  const auto result = walk(image.reader(), {});
  ASSERT_TRUE(result.layout) << result.error;
  EXPECT_EQ(result.layout->models.size(), 1U);
  ASSERT_EQ(result.notes.size(), 1U);
  EXPECT_NE(result.notes[0].find("no end marker"), std::string::npos);
}

TEST(SunSpecWalkerTest, ATimeoutEndsTheWalkWithItsQuality) {
  Image image;
  marker(image, 40000);
  image.put_header(40002, 1, 66);
  image.timeout_from = 40070;
  const auto result = walk(image.reader(), {});
  EXPECT_FALSE(result.layout);
  EXPECT_EQ(result.quality, Quality::kTimeout);
}

TEST(SunSpecWalkerTest, ModelIdZeroAndAnEmptyChainAreRefused) {
  Image zero;
  marker(zero, 40000);
  zero.put(40002, {0, 4});
  EXPECT_NE(walk(zero.reader(), {}).error.find("model id 0"), std::string::npos);
  Image empty;
  marker(empty, 40000);
  empty.put(40002, {0xFFFF, 0});
  EXPECT_EQ(walk(empty.reader(), {}).error, "the SunSpec model chain is empty");
}

TEST(SunSpecLayoutTextTest, RoundTripsAndRefusesWhatAWalkWouldRefuse) {
  const Layout layout{40000, {{1, 40002, 66}, {103, 40070, 50}, {64999, 40122, 3}}};
  const auto text = to_text(layout);
  EXPECT_EQ(text, "sunspec 1 base 40000 models 1@40002+66 103@40070+50 64999@40122+3");
  std::string error;
  EXPECT_EQ(parse_layout(text, {}, error), layout) << error;
  for (const char* bad :
       {"", "sunspec 1 base 40001 models 1@40003+66",
        "sunspec 1 base 40000 models 1@40004+66",             // a gap
        "sunspec 1 base 40000 models 1@40002+66 1@40002+66",  // overlap
        "sunspec 1 base 40000 models 1@40002+65534",          // past 65535
        "sunspec 1 base 40000 models",                        // empty
        "sunspec 1 base 40000 models 0@40002+1",              // id 0
        "sunspec 1 base 40000 models 1@40002+-1", "sunspec 1 base 40000 models x"}) {
    EXPECT_FALSE(parse_layout(bad, {}, error)) << bad;
  }
}

}  // namespace
}  // namespace fieldgate::sunspec
