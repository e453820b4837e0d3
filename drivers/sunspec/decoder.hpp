// Turns the registers of one SunSpec model into named values: scale factors
// (sunssf) applied, "not implemented" values left out. Pure, no I/O: the
// driver, the tests and the fuzz target call it on register images.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/reading.hpp"
#include "drivers/sunspec/model_table.hpp"

namespace fieldgate::sunspec {

/// One point's value, in the units of the definitions.
struct DecodedValue {
  std::string name;  // prefix + "_" + the point's name: "inverter_power_active_total"
  Value value;
  std::string unit;
};

/// What was left out, counted.
struct DecodeStats {
  int not_implemented = 0;  // the type's "not implemented" value, or beyond the model's length
  int bad_scale = 0;        // the scale factor itself not implemented or outside -10..10
};

/// The sunssf range SunSpec allows; a factor outside it leaves its points out.
inline constexpr int kMinScaleFactor = -10;
inline constexpr int kMaxScaleFactor = 10;

/// How many repeats (model 160's modules) a model of `length` registers holds.
[[nodiscard]] int repeat_count(const ModelDef& def, std::uint16_t length) noexcept;

/// The name of a point: "<prefix>_<name>", or for a point of the k-th repeat
/// (1-based) "<prefix>_<k>_<name>".
[[nodiscard]] std::string point_name(std::string_view prefix, int repeat, const PointDef& point);

/// Decodes `body`, the registers after the model's ID and L (its length L of
/// them), appending one value per implemented point; sunssf and pad points
/// are not values of their own. Points past the end of `body` are absent.
void decode_model(const ModelDef& def, std::string_view prefix, std::span<const std::uint16_t> body,
                  std::vector<DecodedValue>& out, DecodeStats& stats);

/// Every point name and unit decode_model may yield for a model of `length`
/// registers, in the same order (for failed reads and `check`).
void list_points(const ModelDef& def, std::string_view prefix, std::uint16_t length,
                 std::vector<DecodedValue>& out);

}  // namespace fieldgate::sunspec
