#include "config/homeassistant.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace fieldgate::config::ha {
namespace {

constexpr std::array<std::string_view, 6> kComponentNames{"sensor", "binary_sensor", "switch",
                                                          "number", "select",        "text"};

// Home Assistant's sensor device classes (developers.home-assistant.io,
// "Sensor entity", SensorDeviceClass).
constexpr auto kSensorClasses = std::to_array<std::string_view>({"apparent_power",
                                                                 "aqi",
                                                                 "area",
                                                                 "atmospheric_pressure",
                                                                 "battery",
                                                                 "blood_glucose_concentration",
                                                                 "carbon_dioxide",
                                                                 "carbon_monoxide",
                                                                 "conductivity",
                                                                 "current",
                                                                 "data_rate",
                                                                 "data_size",
                                                                 "date",
                                                                 "distance",
                                                                 "duration",
                                                                 "energy",
                                                                 "energy_distance",
                                                                 "energy_storage",
                                                                 "enum",
                                                                 "frequency",
                                                                 "gas",
                                                                 "humidity",
                                                                 "illuminance",
                                                                 "irradiance",
                                                                 "moisture",
                                                                 "monetary",
                                                                 "nitrogen_dioxide",
                                                                 "nitrogen_monoxide",
                                                                 "nitrous_oxide",
                                                                 "ozone",
                                                                 "ph",
                                                                 "pm1",
                                                                 "pm10",
                                                                 "pm25",
                                                                 "power_factor",
                                                                 "power",
                                                                 "precipitation",
                                                                 "precipitation_intensity",
                                                                 "pressure",
                                                                 "reactive_energy",
                                                                 "reactive_power",
                                                                 "signal_strength",
                                                                 "sound_pressure",
                                                                 "speed",
                                                                 "sulphur_dioxide",
                                                                 "temperature",
                                                                 "timestamp",
                                                                 "volatile_organic_compounds",
                                                                 "volatile_organic_compounds_parts",
                                                                 "voltage",
                                                                 "volume",
                                                                 "volume_flow_rate",
                                                                 "volume_storage",
                                                                 "water",
                                                                 "weight",
                                                                 "wind_direction",
                                                                 "wind_speed"});

// NumberDeviceClass: the sensor classes without date, enum and timestamp.
constexpr auto kNumberClasses = [] {
  std::array<std::string_view, kSensorClasses.size() - 3> out{};
  std::size_t n = 0;
  for (const auto c : kSensorClasses) {
    if (c != "date" && c != "enum" && c != "timestamp") out[n++] = c;
  }
  return out;
}();

constexpr auto kBinarySensorClasses = std::to_array<std::string_view>({"battery",
                                                                       "battery_charging",
                                                                       "carbon_monoxide",
                                                                       "cold",
                                                                       "connectivity",
                                                                       "door",
                                                                       "garage_door",
                                                                       "gas",
                                                                       "heat",
                                                                       "light",
                                                                       "lock",
                                                                       "moisture",
                                                                       "motion",
                                                                       "moving",
                                                                       "occupancy",
                                                                       "opening",
                                                                       "plug",
                                                                       "power",
                                                                       "presence",
                                                                       "problem",
                                                                       "running",
                                                                       "safety",
                                                                       "smoke",
                                                                       "sound",
                                                                       "tamper",
                                                                       "update",
                                                                       "vibration",
                                                                       "window"});

constexpr std::array<std::string_view, 2> kSwitchClasses{"outlet", "switch"};

constexpr std::array<std::string_view, 3> kStateClasses{"measurement", "total", "total_increasing"};
constexpr std::array<std::string_view, 1> kMeasurementOnly{"measurement"};
constexpr std::array<std::string_view, 2> kTotals{"total", "total_increasing"};
constexpr std::array<std::string_view, 1> kTotalOnly{"total"};
constexpr std::span<const std::string_view> kNone{};

// The device classes whose state classes are not "measurement" alone
// (Home Assistant's DEVICE_CLASS_STATE_CLASSES).
struct ClassRule {
  std::string_view device_class;
  std::span<const std::string_view> state_classes;
};
constexpr std::array<ClassRule, 15> kClassRules{{
    {"date", kNone},
    {"enum", kNone},
    {"timestamp", kNone},
    {"energy", kTotals},
    {"gas", kTotals},
    {"water", kTotals},
    {"reactive_energy", kTotals},
    {"monetary", kTotalOnly},
    {"volume", kStateClasses},
    {"distance", kStateClasses},
    {"duration", kStateClasses},
    {"weight", kStateClasses},
    {"data_size", kStateClasses},
    {"precipitation", kStateClasses},
    {"energy_distance", kMeasurementOnly},
}};

struct UnitRule {
  std::string_view unit;
  UnitClasses classes;
};
constexpr std::string_view kM = "measurement";
constexpr std::string_view kTi = "total_increasing";
constexpr auto kUnitRules = std::to_array<UnitRule>({
    {"V", {"voltage", kM}},
    {"mV", {"voltage", kM}},
    {"kV", {"voltage", kM}},
    {"A", {"current", kM}},
    {"mA", {"current", kM}},
    {"W", {"power", kM}},
    {"kW", {"power", kM}},
    {"MW", {"power", kM}},
    {"VA", {"apparent_power", kM}},
    {"kVA", {"apparent_power", kM}},
    {"var", {"reactive_power", kM}},
    {"kvar", {"reactive_power", kM}},
    {"Wh", {"energy", kTi}},
    {"kWh", {"energy", kTi}},
    {"MWh", {"energy", kTi}},
    {"varh", {"reactive_energy", kTi}},
    {"kvarh", {"reactive_energy", kTi}},
    {"Hz", {"frequency", kM}},
    {"kHz", {"frequency", kM}},
    {"°C", {"temperature", kM}},
    {"°F", {"temperature", kM}},
    {"K", {"temperature", kM}},
    {"Pa", {"pressure", kM}},
    {"hPa", {"pressure", kM}},
    {"kPa", {"pressure", kM}},
    {"bar", {"pressure", kM}},
    {"mbar", {"pressure", kM}},
    {"psi", {"pressure", kM}},
    {"m³", {"volume", kTi}},
    {"L", {"volume", kTi}},
    {"m³/h", {"volume_flow_rate", kM}},
    {"L/min", {"volume_flow_rate", kM}},
    {"lx", {"illuminance", kM}},
    {"dBm", {"signal_strength", kM}},
    {"m/s", {"speed", kM}},
    {"km/h", {"speed", kM}},
    {"s", {"duration", kM}},
    {"min", {"duration", kM}},
    {"h", {"duration", kM}},
    {"kg", {"weight", kM}},
    {"g", {"weight", kM}},
    {"%", {"", kM}},  // humidity, battery, power factor...: the unit does not say
});

bool is_id_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

std::string_view to_string(Component c) noexcept {
  return kComponentNames[static_cast<std::size_t>(c)];
}

std::optional<Component> component_named(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kComponentNames.size(); ++i) {
    if (kComponentNames[i] == name) return static_cast<Component>(i);
  }
  return std::nullopt;
}

std::span<const std::string_view> component_names() noexcept {
  return kComponentNames;
}

Component default_component(const PointConfig& point) noexcept {
  const bool is_bool = point.value_kind == ValueKind::kBool;
  if (!point.write().writable) return is_bool ? Component::kBinarySensor : Component::kSensor;
  if (is_bool) return Component::kSwitch;
  if (!point.write().allowed.empty()) return Component::kSelect;
  return point.value_kind == ValueKind::kNumber ? Component::kNumber : Component::kText;
}

std::string incompatibility(Component c, const PointConfig& point) {
  const bool is_bool = point.value_kind == ValueKind::kBool;
  const bool writable = point.write().writable;
  switch (c) {
    case Component::kSensor:
      return is_bool ? "a sensor shows numbers and text; a bool point is a binary_sensor or a "
                       "switch"
                     : "";
    case Component::kBinarySensor:
      return is_bool ? "" : "a binary_sensor needs a bool point";
    case Component::kSwitch:
      return is_bool && writable ? "" : "a switch needs a writable bool point";
    case Component::kNumber:
      return point.value_kind == ValueKind::kNumber && writable
                 ? ""
                 : "a number needs a writable number point";
    case Component::kSelect:
      return writable && !point.write().allowed.empty() && !is_bool
                 ? ""
                 : "a select needs a writable point with `allowed` values";
    case Component::kText:
      return point.value_kind == ValueKind::kString && writable
                 ? ""
                 : "a text needs a writable string point";
  }
  return "unknown component";
}

Component component_of(const PointConfig& point) noexcept {
  if (const auto& overrides = point.ha_overrides(); overrides.component) {
    const auto named = component_named(*overrides.component);
    if (named && incompatibility(*named, point).empty()) return *named;
  }
  return default_component(point);
}

std::span<const std::string_view> device_classes(Component c) noexcept {
  switch (c) {
    case Component::kSensor:
      return kSensorClasses;
    case Component::kBinarySensor:
      return kBinarySensorClasses;
    case Component::kSwitch:
      return kSwitchClasses;
    case Component::kNumber:
      return kNumberClasses;
    case Component::kSelect:
    case Component::kText:
      return kNone;
  }
  return kNone;
}

std::span<const std::string_view> state_classes() noexcept {
  return kStateClasses;
}

std::span<const std::string_view> state_classes_for(std::string_view device_class) noexcept {
  if (device_class.empty()) return kStateClasses;
  for (const auto& rule : kClassRules) {
    if (rule.device_class == device_class) return rule.state_classes;
  }
  return kMeasurementOnly;
}

UnitClasses classes_for_unit(std::string_view unit) noexcept {
  for (const auto& rule : kUnitRules) {
    if (rule.unit == unit) return rule.classes;
  }
  return {"", kM};
}

std::string normalise_id(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(is_id_byte(c) ? c : '_');
  }
  return out;
}

std::string object_id(std::string_view device, std::string_view point) {
  return normalise_id(device) + "_" + normalise_id(point);
}

std::string node_id(const Config& config) {
  return normalise_id(config.homeassistant.node_id.empty() ? config.gateway.name
                                                           : config.homeassistant.node_id);
}

}  // namespace fieldgate::config::ha
