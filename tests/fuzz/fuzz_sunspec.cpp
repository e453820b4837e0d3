// Fuzz target: the SunSpec walker and decoder (drivers/sunspec/) on a
// hostile device: the input is the device's holding registers, answered as a
// device would (a read outside them is refused with an exception).
//
// Input:
//   0     where the image starts: % 3 picks 40000, 50000 or 0
//   1     max_models (% 64 + 1)
//   then  the registers, two bytes each (big-endian), at most 2048 of them
//
// Checks: the walk ends within max_models + 4 reads; a layout it returns is
// ascending, within 0..65535, reads back from its text, and decodes without
// a fault (every value's name non-empty; numbers finite).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "drivers/sunspec/decoder.hpp"
#include "drivers/sunspec/layout.hpp"
#include "drivers/sunspec/model_table.hpp"
#include "drivers/sunspec/walker.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace fieldgate;
using namespace fieldgate::sunspec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  const std::uint16_t base = kBases[in.byte() % 3];
  WalkLimits limits;
  limits.max_models = 1 + in.byte() % 64;
  std::vector<std::uint16_t> regs;
  while (regs.size() < 2048 && in.remaining() >= 2) regs.push_back(in.u16());

  int reads = 0;
  const RegisterReader read = [&](std::uint16_t address, std::span<std::uint16_t> out) {
    ++reads;
    if (out.size() > static_cast<std::size_t>(limits.max_read)) std::abort();
    if (address < base || address - base + out.size() > regs.size()) {
      return ReadOutcome{Quality::kException, "illegal data address"};
    }
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = regs[address - base + i];
    return ReadOutcome{};
  };
  const auto result = walk(read, limits);
  if (reads > limits.max_models + 4) std::abort();
  if (!result.layout) return 0;

  const auto& layout = *result.layout;
  long next = layout.base + 2;
  for (const auto& m : layout.models) {
    if (m.address != next || m.address + 2L + m.length > 65536) std::abort();
    next = m.address + 2L + m.length;
  }
  std::string error;
  if (parse_layout(to_text(layout), limits, error) != layout) std::abort();

  const auto prefixes = point_prefixes(layout);
  std::vector<DecodedValue> values;
  DecodeStats stats;
  for (std::size_t i = 0; i < layout.models.size(); ++i) {
    const auto& m = layout.models[i];
    const auto* def = find_model(m.id);
    if (def == nullptr) continue;
    const std::size_t start = m.address + 2U - base;
    // The walk reads headers only: a body past the image is what the
    // driver's read would find refused, not something to decode.
    if (start + m.length > regs.size()) continue;
    decode_model(*def, prefixes[i], std::span(regs).subspan(start, m.length), values, stats);
  }
  for (const auto& v : values) {
    if (v.name.empty()) std::abort();
    if (const auto* d = std::get_if<double>(&v.value); d != nullptr && !std::isfinite(*d)) {
      std::abort();
    }
  }
  return 0;
}
