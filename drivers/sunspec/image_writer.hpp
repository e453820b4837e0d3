// Writes values into a SunSpec model's registers by point name, from the same
// generated definitions the decoder reads (model_table.hpp): the simulator's
// SunSpec profile is built with it, so it cannot drift from what fieldgate
// decodes. Every point starts "not implemented".
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "drivers/sunspec/model_table.hpp"

namespace fieldgate::sunspec {

/// A model's registers (ID, L and its body) for a register image.
class ModelImageWriter {
 public:
  /// A model of `def` with `repeats` repeating blocks (model 160's modules).
  explicit ModelImageWriter(const ModelDef& def, int repeats = 0);

  /// Sets a sunssf point (by its SunSpec name, "W_SF"); `repeat` 0 is the fixed block.
  void set_scale(std::string_view sunspec_name, int sf, int repeat = 0);
  /// Sets an integer or float point to `value` in its units, scaled by its
  /// sunssf (set that first) and rounded; an enum or bitfield takes the raw value.
  void set(std::string_view sunspec_name, double value, int repeat = 0);
  void set_string(std::string_view sunspec_name, std::string_view text, int repeat = 0);

  /// ID, L and the body.
  [[nodiscard]] const std::vector<std::uint16_t>& words() const noexcept { return words_; }

 private:
  const PointDef& find(std::string_view name, int repeat, std::size_t& base) const;

  const ModelDef& def_;
  int repeats_;
  std::vector<std::uint16_t> words_;
};

/// The "not implemented" registers of a point type (all of its size).
void write_not_implemented(PointType type, std::span<std::uint16_t> regs) noexcept;

}  // namespace fieldgate::sunspec
