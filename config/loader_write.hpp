// Reader of the write keys of one [[devices.points]] entry: writable, min,
// max, allowed, write_function (Modbus) and write_template (serial-line).
// Split from loader.cpp to keep each file to one job; the same rules apply
// (see its design notes). Private to config/.
#pragma once

#include <optional>

#include "config/config.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// What the write keys are checked against; nullopt where the point's value
/// was invalid (reported already), so the checks that need it are skipped.
struct WriteContext {
  bool serial = false;                       // a serial-line point (else Modbus)
  std::optional<RegisterKind> kind;          // Modbus
  std::optional<ValueType> type;             // Modbus
  std::optional<SerialValueType> line_type;  // serial-line
};

/// Reads and checks the write keys. Everything stays read-only unless
/// `writable = true`; the other keys are errors without it.
[[nodiscard]] WriteConfig read_point_write(Section& s, const WriteContext& context);

}  // namespace fieldgate::config
