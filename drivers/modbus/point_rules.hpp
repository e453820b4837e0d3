// Rules that combine several keys of one [[devices.points]] table: type vs
// kind, which keys a type allows, address + length, the device's request size.
// Kept apart from TOML so they read as a list of rules. Used by schema.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/settings.hpp"

namespace fieldgate::modbus {

/// What the loader read from one point table. A value is nullopt when it was
/// absent or invalid (already reported); rules that need it are then skipped.
struct PointFacts {
  std::optional<RegisterKind> kind;
  std::optional<ValueType> type;  // as given, or the kind's default when absent
  std::optional<std::int64_t> address;
  std::optional<std::int64_t> count;
  std::optional<double> scale;
  std::optional<double> offset;
  bool has_count = false;
  bool has_bit = false;
  bool has_scale = false;
  bool has_offset = false;
  bool has_byte_order = false;
  std::optional<int> max_registers;  // the device's, when valid
};

/// One broken rule: the key it concerns and what is wrong. `missing` marks a
/// required key that is absent (reported at the table's position).
struct KeyProblem {
  std::string_view key;
  std::string message;
  bool missing = false;
};

[[nodiscard]] std::vector<KeyProblem> check_point_rules(const PointFacts& facts);

}  // namespace fieldgate::modbus
