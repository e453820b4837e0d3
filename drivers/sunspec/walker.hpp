// The SunSpec model-chain walker: finds the "SunS" marker at 40000, 50000 or
// 0 (holding registers) and follows the (id, length) headers to the end
// marker 0xFFFF. The device is hostile input: every length is checked against
// the register space and the limits, and the walk is bounded in models,
// registers and requests whatever the device answers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/reading.hpp"
#include "drivers/sunspec/layout.hpp"

namespace fieldgate::sunspec {

/// The bases SunSpec allows for the marker, in the order they are tried.
inline constexpr std::uint16_t kBases[] = {40000, 50000, 0};
/// "SunS" in two registers.
inline constexpr std::uint16_t kMarkerHigh = 0x5375;
inline constexpr std::uint16_t kMarkerLow = 0x6e53;
/// The id that ends the chain.
inline constexpr std::uint16_t kEndId = 0xFFFF;

/// How one read went: kGood, or the quality of the failure and why.
struct ReadOutcome {
  Quality quality = Quality::kGood;
  std::string error;
};
/// Reads `out.size()` holding registers from `address` (at most WalkLimits::max_read).
using RegisterReader =
    std::function<ReadOutcome(std::uint16_t address, std::span<std::uint16_t> out)>;

struct WalkResult {
  std::optional<Layout> layout;      // set when the chain was walked to its end
  Quality quality = Quality::kGood;  // of the failure when no layout: kBadResponse for a bad chain
  std::string error;                 // why there is no layout
  std::vector<std::string> notes;    // what was skipped or assumed, for people
  int requests = 0;
};

/// Walks the chain through `read`. Ends with an error (no layout) when no
/// marker answers, when the device stops answering (timeout, connection), or
/// when the chain is hostile: a length past 65535, more than max_models
/// models or max_total_registers registers. A device that refuses (Modbus
/// exception) the header after its last model instead of holding 0xFFFF is
/// taken as ended there, with a note. Unknown model ids are kept in the
/// layout (skipped by their length when decoding) and noted.
[[nodiscard]] WalkResult walk(const RegisterReader& read, const WalkLimits& limits);

}  // namespace fieldgate::sunspec
