// An enum's names as written in TOML and printed by `check` and `poll`: one
// table per enum, in the enum's order, instead of a switch per enum.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace fieldgate {

/// `names[value]`. `names` lists the enum's names in declaration order; the
/// enum starts at 0 without gaps and `Last` is its last value, so a value
/// added without a name fails to compile. "?" for a value outside the table
/// (a cast from bad data).
template <auto Last, std::size_t N>
[[nodiscard]] constexpr std::string_view enum_name(const std::array<std::string_view, N>& names,
                                                   decltype(Last) value) noexcept {
  static_assert(static_cast<std::size_t>(Last) + 1 == N, "one name per value of the enum");
  const auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : std::string_view("?");
}

}  // namespace fieldgate
