// TOML → PublishPolicy: `publish`, `deadband`, `min_interval` and
// `max_interval` of a device, and of a point on top of its device's.
#pragma once

#include "config/config.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// Reads the policy keys of a [[devices]] entry into `device.publish`.
void read_device_policy(Section& s, DeviceConfig& device);

/// Reads the policy keys of a [[devices.points]] entry: when it has any, the
/// point gets its device's policy with those keys applied.
void read_point_policy(Section& s, const DeviceConfig& device, PointConfig& point);

}  // namespace fieldgate::config
