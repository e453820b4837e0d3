// A SunSpec device's layout: where its model chain starts and which models it
// holds at which addresses, as the walker (walker.hpp) found it. Kept as a
// line of text in the store's meta between runs (layout_text.cpp), so a
// gateway that starts while the device is unreachable knows what to read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldgate::sunspec {

/// One model of the chain: its id, the address of its ID register and its
/// length L (registers after ID and L).
struct ModelInstance {
  std::uint16_t id = 0;
  std::uint16_t address = 0;
  std::uint16_t length = 0;

  friend bool operator==(const ModelInstance&, const ModelInstance&) = default;
};

/// The chain of one device, in address order.
struct Layout {
  std::uint16_t base = 0;  // address of the "SunS" marker: 40000, 50000 or 0
  std::vector<ModelInstance> models;

  friend bool operator==(const Layout&, const Layout&) = default;
};

/// The bounds a walk (and a layout read back from the store) keeps to: a
/// device is hostile input. Registers: the sum of the models' lengths.
struct WalkLimits {
  int max_models = 64;
  int max_total_registers = 16384;
  int max_read = 125;  // registers per request (the device's max_registers)
};

/// "sunspec 1 base 40000 models 1@40002+66 103@40070+50": one line, for the store.
[[nodiscard]] std::string to_text(const Layout& layout);
/// The layout of a to_text() line, checked as a walk would check it (ascending,
/// non-overlapping, within 0..65535 and the limits); nullopt with `error` set
/// for anything else.
[[nodiscard]] std::optional<Layout> parse_layout(std::string_view text, const WalkLimits& limits,
                                                 std::string& error);

/// The prefix of each model's point names ("inverter", "meter", "meter_2",
/// "mppt"), "" for a model fieldgate does not decode. Same order as `layout.models`.
[[nodiscard]] std::vector<std::string> point_prefixes(const Layout& layout);

/// "1 common @40002 (66), 103 inverter_three_phase @40070 (50), ..." for check and poll.
[[nodiscard]] std::string describe(const Layout& layout);

}  // namespace fieldgate::sunspec
