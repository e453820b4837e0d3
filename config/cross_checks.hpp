// Checks that span several entries of a loaded configuration: unique names,
// bus references, one bus per serial port. Private to config/; the loader runs
// them after it has read every table.
#pragma once

#include "config/config.hpp"
#include "config/diagnostics.hpp"

namespace fieldgate::config {

/// Adds an issue to `diag` for each duplicate bus, device or point name, each
/// serial port used by two buses, and each device naming a bus that does not
/// exist. Entries whose name could not be read (empty) are skipped, so one bad
/// value is not reported twice.
void check_cross_references(const Config& config, Diagnostics& diag);

}  // namespace fieldgate::config
