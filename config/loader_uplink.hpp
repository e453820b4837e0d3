// Readers of the uplink's tables: [store], [mqtt] with [mqtt.tls], and the
// MQTT keys of [[devices]] and [[devices.points]]. Split from loader.cpp to
// keep each file to one job; the same rules apply (see its design notes).
// Private to config/.
#pragma once

#include "config/config.hpp"
#include "config/driver_schema.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

[[nodiscard]] StoreConfig read_store(Section& s);
/// `payload` names one of the formats in `catalog`.
[[nodiscard]] MqttConfig read_mqtt(Section& s, const SchemaCatalog& catalog);

/// topic, device_topic, qos, retain and payload of one [[devices]] entry.
void read_device_uplink(Section& s, const SchemaCatalog& catalog, DeviceConfig& device);
/// topic, qos and retain of one [[devices.points]] entry.
void read_point_uplink(Section& s, PointConfig& point);

}  // namespace fieldgate::config
