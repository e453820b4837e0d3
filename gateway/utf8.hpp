// UTF-8 checks for text from outside (command payloads, log lines): bytes
// stay bytes until checked here.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace fieldgate::gateway {

/// The length of the UTF-8 sequence at the front of `text` (1..4) and its
/// code point, or 0 when the first byte does not start a valid one (RFC 3629:
/// no overlong forms, no surrogates, nothing past U+10FFFF). `text` not empty.
[[nodiscard]] std::size_t utf8_sequence(std::string_view text, char32_t& code_point) noexcept;

/// The offset of the first byte of `text` that is not part of valid UTF-8, or
/// nullopt when all of it is.
[[nodiscard]] std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept;

}  // namespace fieldgate::gateway
