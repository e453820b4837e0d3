// core/enum_names.hpp: an enum's names from one table in the enum's order.
#include "core/enum_names.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>

#include "config/config.hpp"
#include "core/serial_port.hpp"

namespace fieldgate {
namespace {

enum class Colour { kRed, kGreen, kBlue };

constexpr std::array<std::string_view, 3> kColourNames{"red", "green", "blue"};

TEST(EnumNames, EachValueHasTheNameAtItsPlace) {
  EXPECT_EQ(enum_name<Colour::kBlue>(kColourNames, Colour::kRed), "red");
  EXPECT_EQ(enum_name<Colour::kBlue>(kColourNames, Colour::kGreen), "green");
  EXPECT_EQ(enum_name<Colour::kBlue>(kColourNames, Colour::kBlue), "blue");
  static_assert(enum_name<Colour::kBlue>(kColourNames, Colour::kGreen) == "green");
}

TEST(EnumNames, AValueOutsideTheEnumIsAQuestionMark) {
  // What a cast from damaged data would produce; never an out-of-bounds read.
  EXPECT_EQ(enum_name<Colour::kBlue>(kColourNames, static_cast<Colour>(3)), "?");
  EXPECT_EQ(enum_name<Colour::kBlue>(kColourNames, static_cast<Colour>(-1)), "?");
}

TEST(EnumNames, TheConfigurationsNamesAreThoseOfTheToml) {
  EXPECT_EQ(config::to_string(Parity::kEven), "even");
  EXPECT_EQ(config::to_string(FlowControl::kXonXoff), "xonxoff");
  EXPECT_EQ(config::to_string(config::SerialMode::kRs485), "rs485");
  EXPECT_EQ(config::to_string(config::Durability::kFull), "full");
  EXPECT_EQ(config::to_string(config::Overflow::kDropNewest), "drop_newest");
  EXPECT_EQ(config::to_string(config::StoreMode::kSpill), "spill");
}

}  // namespace
}  // namespace fieldgate
