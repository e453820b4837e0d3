#!/usr/bin/python3
"""Checks Home Assistant MQTT discovery configs as Home Assistant would.

Input (argv[1]): a JSON array of {"topic", "config", "state", "format",
"point"}: a discovery config as it arrived from the broker, and the state
message that arrived on its state_topic (null when none). For each:
  - the topic is <prefix>/<component>/<node_id>/<object_id>/config;
  - the keys are those Home Assistant documents for the component (no
    unknown ones), the required ones are there;
  - device_class is one the component accepts, state_class one the device
    class allows, the unit one the device class allows (the units below);
  - value_template, rendered with Jinja2 as Home Assistant does (sandboxed,
    `value` the payload text, `value_json` the payload parsed) against the
    state message, gives the value the message carries for that point;
  - the availability templates render "online" for a good reading.
Prints every problem and exits 1 if there is any.
"""
import json
import re
import sys

from jinja2.sandbox import ImmutableSandboxedEnvironment

# https://www.home-assistant.io/integrations/<component>.mqtt/ (the keys
# fieldgate may send; each list is a subset of the documented options).
COMMON = {"name", "unique_id", "availability", "availability_mode", "device", "origin", "qos",
          "icon", "entity_category", "enabled_by_default", "value_template", "state_topic",
          "device_class"}
KEYS = {
    "sensor": COMMON | {"unit_of_measurement", "state_class", "expire_after"},
    "binary_sensor": COMMON | {"payload_on", "payload_off", "expire_after"},
    "switch": COMMON | {"command_topic", "payload_on", "payload_off", "state_on", "state_off",
                        "retain"},
    "number": COMMON | {"command_topic", "min", "max", "step", "mode", "unit_of_measurement",
                        "retain"},
    "select": (COMMON - {"device_class"}) | {"command_topic", "options", "retain"},
    "text": (COMMON - {"device_class"}) | {"command_topic", "max", "retain"},
}
REQUIRED = {
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
    "switch": {"command_topic"},
    "number": {"command_topic"},
    "select": {"command_topic", "options"},
    "text": {"command_topic"},
}
SENSOR_CLASSES = {
    "apparent_power", "aqi", "area", "atmospheric_pressure", "battery",
    "blood_glucose_concentration", "carbon_dioxide", "carbon_monoxide", "conductivity",
    "current", "data_rate", "data_size", "date", "distance", "duration", "energy",
    "energy_distance", "energy_storage", "enum", "frequency", "gas", "humidity", "illuminance",
    "irradiance", "moisture", "monetary", "nitrogen_dioxide", "nitrogen_monoxide",
    "nitrous_oxide", "ozone", "ph", "pm1", "pm10", "pm25", "power_factor", "power",
    "precipitation", "precipitation_intensity", "pressure", "reactive_energy", "reactive_power",
    "signal_strength", "sound_pressure", "speed", "sulphur_dioxide", "temperature", "timestamp",
    "volatile_organic_compounds", "volatile_organic_compounds_parts", "voltage", "volume",
    "volume_flow_rate", "volume_storage", "water", "weight", "wind_direction", "wind_speed"}
DEVICE_CLASSES = {
    "sensor": SENSOR_CLASSES,
    "number": SENSOR_CLASSES - {"date", "enum", "timestamp"},
    "binary_sensor": {
        "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
        "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving",
        "occupancy", "opening", "plug", "power", "presence", "problem", "running", "safety",
        "smoke", "sound", "tamper", "update", "vibration", "window"},
    "switch": {"outlet", "switch"},
}
# Home Assistant's DEVICE_CLASS_STATE_CLASSES (sensor/const.py); the rest: measurement.
ALL_STATE = {"measurement", "total", "total_increasing"}
STATE_CLASSES = {
    "date": set(), "enum": set(), "timestamp": set(),
    "energy": {"total", "total_increasing"}, "gas": {"total", "total_increasing"},
    "water": {"total", "total_increasing"}, "reactive_energy": {"total", "total_increasing"},
    "monetary": {"total"}, "volume": ALL_STATE, "distance": ALL_STATE, "duration": ALL_STATE,
    "weight": ALL_STATE, "data_size": ALL_STATE, "precipitation": ALL_STATE,
}
# Home Assistant's DEVICE_CLASS_UNITS for the classes fieldgate derives.
UNITS = {
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "current": {"A", "mA"},
    "power": {"W", "kW", "MW", "GW", "TW", "mW"},
    "energy": {"Wh", "kWh", "MWh", "GWh", "TWh", "J", "kJ", "MJ", "GJ", "mWh", "cal", "kcal",
               "Mcal", "Gcal"},
    "frequency": {"Hz", "kHz", "MHz", "GHz"},
    "temperature": {"°C", "°F", "K"},
}
ID = re.compile(r"^[a-zA-Z0-9_-]+$")

env = ImmutableSandboxedEnvironment()


def render(template, payload):
    variables = {"value": payload}
    try:
        variables["value_json"] = json.loads(payload)
    except ValueError:
        pass
    return env.from_string(template).render(**variables).strip()


def carried(fmt, point, payload):
    """The value the state message carries for `point`, by its format."""
    if fmt == "json":
        return json.loads(payload)["value"]
    if fmt == "device-json":
        return json.loads(payload)["points"][point]["value"]
    return payload


def same(component, config, rendered, value):
    if component in ("switch", "binary_sensor"):
        on = config.get("state_on", config.get("payload_on", "ON"))
        off = config.get("state_off", config.get("payload_off", "OFF"))
        if isinstance(value, str):
            value = value == "true"
        return rendered == (on if value else off)
    if component == "select":
        return rendered in config["options"] and float(rendered) == float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return abs(float(rendered) - float(value)) <= 1e-9 * max(1.0, abs(float(value)))
    return rendered == str(value)


def check(entry, problems, unique_ids):
    topic, config = entry["topic"], entry["config"]
    say = lambda what: problems.append(f"{topic}: {what}")
    parts = topic.split("/")
    if len(parts) != 5 or parts[4] != "config" or not ID.match(parts[2]) or not ID.match(parts[3]):
        say("not <prefix>/<component>/<node_id>/<object_id>/config")
        return
    component = parts[1]
    if component not in KEYS:
        say(f"unknown component {component}")
        return
    for key in sorted(set(config) - KEYS[component]):
        say(f"key {key} is not a {component} option")
    for key in sorted(REQUIRED[component] - set(config)):
        say(f"required key {key} missing")
    if config.get("unique_id") in unique_ids:
        say(f"unique_id {config.get('unique_id')} used twice")
    unique_ids.add(config.get("unique_id"))
    device_class = config.get("device_class")
    if device_class is not None and device_class not in DEVICE_CLASSES.get(component, set()):
        say(f"device_class {device_class} is not a {component} device class")
    state_class = config.get("state_class")
    if state_class is not None:
        allowed = STATE_CLASSES.get(device_class, {"measurement"}) if device_class else ALL_STATE
        if state_class not in allowed:
            say(f"state_class {state_class} not allowed with device_class {device_class}")
    unit = config.get("unit_of_measurement")
    if device_class in UNITS and unit not in UNITS[device_class]:
        say(f"unit {unit} not allowed with device_class {device_class}")
    device = config.get("device", {})
    if not device.get("identifiers"):
        say("device without identifiers")
    if config.get("availability_mode", "latest") not in ("all", "any", "latest"):
        say("bad availability_mode")
    for a in config.get("availability", []):
        if "topic" not in a:
            say("availability entry without topic")
    payload = entry.get("state")
    if payload is None:
        return
    try:
        rendered = render(config.get("value_template", "{{ value }}"), payload)
        value = carried(entry["format"], entry["point"], payload)
        if not same(component, config, rendered, value):
            say(f"value_template gave {rendered!r} for {payload!r}, expected {value!r}")
        for a in config.get("availability", []):
            if a.get("topic") == config.get("state_topic") and "value_template" in a:
                got = render(a["value_template"], payload)
                if got != a.get("payload_available", "online"):
                    say(f"availability template gave {got!r} for a good reading")
        entry["rendered"] = rendered
    except Exception as e:  # a template Home Assistant could not render either
        say(f"template error: {e!r}")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        entries = json.load(f)
    problems, unique_ids = [], set()
    for entry in entries:
        check(entry, problems, unique_ids)
    for p in problems:
        print(p)
    print(json.dumps({e["topic"]: e.get("rendered") for e in entries}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
