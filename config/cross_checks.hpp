// Checks that span several entries of a loaded configuration: unique names,
// bus references, one user per serial port, the MQTT topics. Private to config/; the loader runs
// them after it has read every table.
#pragma once

#include "config/config.hpp"
#include "config/diagnostics.hpp"
#include "config/driver_schema.hpp"

namespace fieldgate::config {

/// Adds an issue to `diag` for each duplicate bus, device or point name, each
/// serial port used twice (by buses, or devices whose driver claims one), and
/// each device naming a bus that does not exist (the drivers' check_device
/// says which). Entries whose name could not be read (empty) are skipped, so
/// one bad value is not reported twice.
void check_cross_references(const Config& config, const SchemaCatalog& drivers, Diagnostics& diag);

/// The MQTT mapping as a whole (uplink_checks.cpp): no per-point topic, qos or
/// retain on a device whose format publishes one message per poll (device-json);
/// every topic expanded from the templates is free of empty levels and used by
/// one publisher only (a point, such a device, the status or stats topic). Skipped where a
/// value they use was reported already.
void check_uplink(const Config& config, Diagnostics& diag);

}  // namespace fieldgate::config
