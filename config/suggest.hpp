// "Did you mean ...?" for misspelt keys and values.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace fieldgate::config {

/// Levenshtein distance (insert, delete, substitute one character), ASCII case-insensitive.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, if it is close enough to be a likely typo:
/// at most 2 edits, or a third of the word's length for long words. Ties go to
/// the first candidate.
[[nodiscard]] std::optional<std::string_view> closest_match(
    std::string_view word, std::span<const std::string_view> candidates);

}  // namespace fieldgate::config
