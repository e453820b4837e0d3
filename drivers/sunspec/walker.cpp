#include "drivers/sunspec/walker.hpp"

#include <array>

#include <fmt/format.h>

#include "drivers/sunspec/model_table.hpp"

namespace fieldgate::sunspec {
namespace {

constexpr long kAddressSpace = 65536;

// Finds the marker: the first base whose two registers read "SunS". A base
// refused with an exception (no such address) or holding something else is
// passed over; a timeout or lost connection ends the search.
std::optional<std::uint16_t> find_base(const RegisterReader& read, WalkResult& result) {
  std::vector<std::string> tried;
  for (const auto base : kBases) {
    std::array<std::uint16_t, 2> words{};
    ++result.requests;
    const auto outcome = read(base, words);
    if (outcome.quality == Quality::kGood) {
      if (words[0] == kMarkerHigh && words[1] == kMarkerLow) return base;
      tried.push_back(fmt::format("{}: {:04x} {:04x}", base, words[0], words[1]));
      continue;
    }
    if (outcome.quality != Quality::kException && outcome.quality != Quality::kBadResponse) {
      result.quality = outcome.quality;
      result.error = fmt::format("looking for the SunSpec marker at {}: {}", base, outcome.error);
      return std::nullopt;
    }
    tried.push_back(fmt::format("{}: {}", base, outcome.error));
  }
  result.quality = Quality::kBadResponse;
  result.error =
      fmt::format("no SunSpec marker (\"SunS\") at 40000, 50000 or 0 ({})", fmt::join(tried, "; "));
  return std::nullopt;
}

}  // namespace

WalkResult walk(const RegisterReader& read, const WalkLimits& limits) {
  WalkResult result;
  const auto base = find_base(read, result);
  if (!base) return result;

  Layout layout;
  layout.base = *base;
  long address = *base + 2L;
  long total = 0;
  const auto fail = [&](std::string why) {
    result.quality = Quality::kBadResponse;
    result.error = std::move(why);
    return result;
  };
  // Each step moves forward by at least the two header registers, so the walk
  // ends within the address space; the limits end it much sooner.
  while (true) {
    if (address + 2 > kAddressSpace) {
      return fail(
          fmt::format("the model chain runs past register 65535 without its end "
                      "marker (0xFFFF) after {} models",
                      layout.models.size()));
    }
    std::array<std::uint16_t, 2> header{};
    ++result.requests;
    const auto outcome = read(static_cast<std::uint16_t>(address), header);
    if (outcome.quality == Quality::kException && !layout.models.empty()) {
      result.notes.push_back(fmt::format(
          "no end marker: the device refused register {} ({}); the chain is taken to end there",
          address, outcome.error));
      break;
    }
    if (outcome.quality != Quality::kGood) {
      result.quality = outcome.quality;
      result.error = fmt::format("reading the model header at {}: {}", address, outcome.error);
      return result;
    }
    const auto id = header[0];
    const auto length = header[1];
    if (id == kEndId) break;
    if (static_cast<int>(layout.models.size()) >= limits.max_models) {
      return fail(fmt::format("more than {} models in the chain (at {}): a chain without end?",
                              limits.max_models, address));
    }
    if (address + 2 + length > kAddressSpace) {
      return fail(
          fmt::format("model {} at {} has length {}, past register 65535", id, address, length));
    }
    total += length;
    if (total > limits.max_total_registers) {
      return fail(
          fmt::format("the models' lengths add up to more than {} registers (model {} at "
                      "{}, length {})",
                      limits.max_total_registers, id, address, length));
    }
    if (id == 0) {
      return fail(fmt::format("model id 0 at {}: not a SunSpec model header", address));
    }
    const auto* def = find_model(id);
    if (def == nullptr) {
      const auto name = model_name(id);
      result.notes.push_back(fmt::format("model {}{} at {} ({} registers): not decoded, skipped",
                                         id, name.empty() ? "" : fmt::format(" ({})", name),
                                         address, length));
    } else if (def->repeat_length > 0 && length >= def->fixed_length &&
               (length - def->fixed_length) % def->repeat_length != 0) {
      result.notes.push_back(fmt::format(
          "model {} at {}: length {} is not {} + a whole number of {}-register {}s; the "
          "incomplete one is not read",
          id, address, length, def->fixed_length, def->repeat_length, def->repeat_name));
    }
    layout.models.push_back({id, static_cast<std::uint16_t>(address), length});
    address += 2L + length;
  }
  if (layout.models.empty()) return fail("the SunSpec model chain is empty");
  result.layout = std::move(layout);
  return result;
}

}  // namespace fieldgate::sunspec
