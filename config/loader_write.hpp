// Reader of the write keys every [[devices.points]] entry may have: writable,
// min, max, allowed. A driver's own write keys are read by its schema, with
// reject_unless_writable. The same rules apply as in loader.cpp (see its
// design notes).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// What the write keys are checked against, as the driver's schema read the
/// point's type; `kind` is nullopt when the type was invalid (reported
/// already), so the checks that need it are skipped.
struct WriteContext {
  std::optional<ValueKind> kind;
  std::string type_name;  // the point's type as written, e.g. "int16"
};

/// Reads and checks writable, min, max and allowed. Everything stays
/// read-only unless `writable = true`; the other keys are errors without it.
[[nodiscard]] WriteConfig read_point_write(Section& s, const WriteContext& context);

/// A driver's own write key (a write function, a template): refused, like
/// min or max, on a point that is not writable.
void reject_unless_writable(Section& s, const WriteConfig& write, std::string_view key);

}  // namespace fieldgate::config
