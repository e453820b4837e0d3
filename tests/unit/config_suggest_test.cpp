// "Did you mean ...?" (config/suggest.hpp).
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string_view>

#include "config/suggest.hpp"

namespace fieldgate::config {
namespace {

constexpr std::array<std::string_view, 5> kKeys{"name", "poll_interval", "unit_id", "byte_order",
                                                "bus"};

TEST(ConfigSuggestTest, EditDistanceCountsSingleCharacterEdits) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("poll_interval", "pollinterval"), 1u);
  EXPECT_EQ(edit_distance("ABCD", "abcd"), 0u);  // case-insensitive
}

TEST(ConfigSuggestTest, SuggestsLikelyTypos) {
  EXPECT_EQ(closest_match("pollinterval", kKeys), std::optional<std::string_view>("poll_interval"));
  EXPECT_EQ(closest_match("poll_intervall", kKeys), "poll_interval");
  EXPECT_EQ(closest_match("unitid", kKeys), "unit_id");
  EXPECT_EQ(closest_match("nmae", kKeys), "name");
  EXPECT_EQ(closest_match("byteorder", kKeys), "byte_order");
  EXPECT_EQ(closest_match("Name", kKeys), "name");
}

TEST(ConfigSuggestTest, StaysQuietWhenNothingIsClose) {
  EXPECT_EQ(closest_match("colour", kKeys), std::nullopt);
  EXPECT_EQ(closest_match("baudrate", kKeys), std::nullopt);
  // Rewriting all of a short word is not a suggestion.
  EXPECT_EQ(closest_match("xy", std::array<std::string_view, 1>{"ab"}), std::nullopt);
  EXPECT_EQ(closest_match("x", std::array<std::string_view, 0>{}), std::nullopt);
}

}  // namespace
}  // namespace fieldgate::config
