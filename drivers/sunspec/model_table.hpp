// The SunSpec models fieldgate decodes, as data: generated from SunSpec's open
// model definitions (Apache-2.0) by scripts/sunspec_models.py into
// model_table.cpp, which is committed (no download at build time). This
// header is the hand-written shape of that table.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace fieldgate::sunspec {

/// A SunSpec point type (the definitions' "type"). Each has its own
/// "not implemented" value (decoder.hpp).
enum class PointType : std::uint8_t {
  kInt16,
  kUInt16,
  kAcc16,
  kEnum16,
  kBitfield16,
  kCount,
  kSunssf,
  kInt32,
  kUInt32,
  kAcc32,
  kEnum32,
  kBitfield32,
  kInt64,
  kUInt64,
  kAcc64,
  kBitfield64,
  kFloat32,
  kFloat64,
  kString,
  kPad,
};

/// Where a point's scale factor is: none, a constant exponent, or a sunssf
/// point at `value` registers into the model's fixed block or the point's own
/// repeating block.
enum class SfKind : std::uint8_t { kNone, kConstant, kFixed, kRepeat };
struct SfRef {
  SfKind kind = SfKind::kNone;
  int value = 0;  // kConstant: the exponent; kFixed/kRepeat: the sunssf's offset
};

/// One point of a model.
struct PointDef {
  const char* sunspec_name;  // as in the definitions: "PhVphA"
  const char* name;          // fieldgate's name, without the model's prefix: "voltage_l1"
  const char* units;         // from the definitions, "" when none
  std::uint16_t offset;      // registers from the block's start (after ID and L for the fixed one)
  std::uint16_t size;        // registers
  PointType type;
  SfRef sf;
};

/// One model: a fixed block, then optionally a block repeated to fill the
/// model's length (model 160's MPPT modules).
struct ModelDef {
  std::uint16_t id;
  const char* name;             // the definitions' group name: "inverter_three_phase"
  const char* label;            // "Inverter (Three Phase)"
  const char* prefix;           // of its points' names: "inverter", "meter", "mppt"
  std::uint16_t fixed_length;   // registers after ID and L
  std::uint16_t repeat_length;  // registers of one repeat, 0 when none
  const char* repeat_name;      // "module"
  std::span<const PointDef> fixed;
  std::span<const PointDef> repeat;
};

/// Any model id of the definitions and its name, decoded or not.
struct ModelName {
  std::uint16_t id;
  const char* name;
};

/// The sunspec/models commit the table was generated from.
[[nodiscard]] std::string_view definitions_commit() noexcept;
/// The decoded models, by ascending id.
[[nodiscard]] std::span<const ModelDef> decoded_models() noexcept;
/// Every model id in the definitions, by ascending id.
[[nodiscard]] std::span<const ModelName> model_names() noexcept;

/// The decoded model `id`, or null.
[[nodiscard]] const ModelDef* find_model(std::uint16_t id) noexcept;
/// The definitions' name of model `id` ("" when not in them).
[[nodiscard]] std::string_view model_name(std::uint16_t id) noexcept;

}  // namespace fieldgate::sunspec
