// FrameParser: turns the payload of one good frame into the text of each
// point (key=value pairs, delimited fields by index, or a PCRE2 regex with
// named groups, then an optional split), and convert() turns a text into a
// typed, scaled value. Pure; one parser per device.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/reading.hpp"
#include "drivers/serial/pcre_regex.hpp"
#include "drivers/serial/settings.hpp"

namespace fieldgate::serial {

/// One point's share of a frame.
struct PointText {
  enum class State {
    kAbsent,  // not in this frame (an optional field, a key the frame lacks)
    kText,    // found: `text`
    kError,   // present but malformed (no part `part` after split): `text` says why
  };
  State state = State::kAbsent;
  std::string text;
};

class FrameParser {
 public:
  /// Throws std::invalid_argument when the pattern does not compile or lacks a
  /// group a point names (the config loader reports both earlier).
  explicit FrameParser(const config::DeviceConfig& device);

  struct Result {
    bool matched = true;            // false: a regex that did not match the frame at all
    std::vector<PointText> points;  // one per configured point, in order
  };
  [[nodiscard]] Result parse(std::string_view payload) const;

 private:
  [[nodiscard]] PointText finish(const config::PointConfig& point, std::string_view text) const;

  ParseMode mode_;
  std::string separator_;
  std::string assign_;
  std::vector<config::PointConfig> points_;
  std::unique_ptr<PcreRegex> regex_;
  std::vector<int> groups_;  // regex group number per point
};

struct Converted {
  Value value;        // monostate when `error` is set
  std::string error;  // "expected a number, got \"7x\""
};

/// The text of a point as its type (number, int, bool, string), then
/// value × scale + offset for numbers. An int stays an integer when scale is 1
/// and offset 0. Never a bogus value: anything unreadable is an error.
[[nodiscard]] Converted convert(std::string_view text, const config::PointConfig& point);

}  // namespace fieldgate::serial
