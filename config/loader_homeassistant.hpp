// TOML -> the Home Assistant discovery settings: the [homeassistant] table, a
// device's `homeassistant = { manufacturer, model }` and a point's
// `homeassistant = { component, name, device_class, ... }`, and the check
// that no two entities end up with one object id once names are normalised.
#pragma once

#include "config/config.hpp"
#include "config/diagnostics.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// The [homeassistant] table.
[[nodiscard]] HomeAssistantConfig read_homeassistant(Section& s);

/// A [[devices]] entry's `homeassistant` table, if it has one.
void read_device_homeassistant(Section& s, DeviceConfig& device);

/// A [[devices.points]] entry's `homeassistant` table, if it has one; the
/// point's other keys are read (its kind and writability decide what may be
/// overridden).
void read_point_homeassistant(Section& s, PointConfig& point);

/// With discovery enabled: every point's object id is unique after
/// normalisation (config/homeassistant.hpp); each repeat is reported at its
/// point's name.
void check_homeassistant(const Config& config, Diagnostics& diag);

}  // namespace fieldgate::config
