// JSON text written straight into a buffer with fmt, for the message built
// once per reading (bridge/encoder_json.cpp, json_payload). The bytes are exactly
// those nlohmann::json writes with dump(-1, ' ', false,
// error_handler_t::replace) for the same values, the form payloads had before
// and that other messages (device-json, stats, command results) still use;
// tests/unit/json_text_test.cpp holds the two side by side.
#pragma once

#include <string_view>

#include <fmt/format.h>

#include "core/reading.hpp"

namespace fieldgate::bridge {

/// Appends `text` as a quoted JSON string: `"` and `\` and control characters
/// escaped, valid UTF-8 as it is, invalid UTF-8 replaced by U+FFFD.
void append_json_string(fmt::memory_buffer& out, std::string_view text);

/// Appends a finite double: the shortest digits that read back as the same
/// double, with ".0" when they are an integer ("21.0"), an exponent below
/// 1e-4 and from 1e15 up ("1e-05", "1e+16").
void append_json_number(fmt::memory_buffer& out, double value);

/// An integer's decimal digits (a JSON number), without a format string.
template <class Integer>
void append_json_integer(fmt::memory_buffer& out, Integer value) {
  const fmt::format_int digits(value);
  out.append(digits.data(), digits.data() + digits.size());
}

/// Appends a value by the rule of value_to_json (bridge/value_json.hpp): null
/// for no value and for NaN and infinities.
void append_json_value(fmt::memory_buffer& out, const Value& value);

}  // namespace fieldgate::bridge
