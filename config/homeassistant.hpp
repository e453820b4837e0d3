// Home Assistant's MQTT discovery vocabulary, the one place fieldgate knows
// it: the components a point can become, the device classes and state
// classes each one accepts (as Home Assistant documents them), the classes a
// unit implies, and how names become object ids. The loader checks
// overrides against it; gateway/ha_discovery.cpp builds the messages from it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace fieldgate::config::ha {

/// The entity kinds a point may become.
enum class Component { kSensor, kBinarySensor, kSwitch, kNumber, kSelect, kText };

/// "sensor", "binary_sensor", ...: the topic level and the override's spelling.
[[nodiscard]] std::string_view to_string(Component c) noexcept;
[[nodiscard]] std::optional<Component> component_named(std::string_view name) noexcept;
/// Every component's name, for messages.
[[nodiscard]] std::span<const std::string_view> component_names() noexcept;

/// What a point becomes unless overridden: a writable bool a switch, a
/// writable point with `allowed` values a select, a writable number a number,
/// a writable string a text; read-only bools a binary_sensor, the rest a sensor.
[[nodiscard]] Component default_component(const PointConfig& point) noexcept;

/// "" when `point` can be shown as `c`, else why not ("a switch needs a
/// writable bool point").
[[nodiscard]] std::string incompatibility(Component c, const PointConfig& point);

/// The component a point becomes: its override if valid, else the default.
[[nodiscard]] Component component_of(const PointConfig& point) noexcept;

/// The device classes Home Assistant accepts for `c` (none for select, text).
[[nodiscard]] std::span<const std::string_view> device_classes(Component c) noexcept;

/// "measurement", "total", "total_increasing".
[[nodiscard]] std::span<const std::string_view> state_classes() noexcept;

/// The state classes a sensor of `device_class` may have ("" = no device
/// class: any). Energy only totals, a timestamp none, most only measurement.
[[nodiscard]] std::span<const std::string_view> state_classes_for(
    std::string_view device_class) noexcept;

/// The classes a unit implies for a number: "V" voltage/measurement, "kWh"
/// energy/total_increasing, "°C" temperature/measurement; an unknown unit
/// has no device class and is a measurement.
struct UnitClasses {
  std::string_view device_class;  // "" = none
  std::string_view state_class;   // "" = none
};
[[nodiscard]] UnitClasses classes_for_unit(std::string_view unit) noexcept;

/// A name as Home Assistant takes it in an object id or node id: ASCII
/// letters lower-cased, every byte other than a-z, 0-9, '_' and '-' replaced
/// by '_' ("Meter.L1" -> "meter_l1"). The same name always gives the same id.
[[nodiscard]] std::string normalise_id(std::string_view name);

/// "<device>_<point>", both normalised: the object id of a point's entity.
[[nodiscard]] std::string object_id(std::string_view device, std::string_view point);

/// The node id in discovery topics: [homeassistant] node_id, else the gateway name, normalised.
[[nodiscard]] std::string node_id(const Config& config);

}  // namespace fieldgate::config::ha
