// Design notes:
//  1. Templates follow the payload format of the point's route: "json" reads
//     value_json.value, "device-json" value_json.points['<point>'].value of
//     its device's message (a message without the point renders "", which
//     Home Assistant ignores), "value" and formats registered by others take
//     the payload as it is. A failed read (null value) renders "" too.
//  2. Availability is all of: the gateway's status topic (birth/will), the
//     device's availability topic, and -- where the payload carries quality
//     (json, device-json) -- the point's own state topic, "offline" while
//     its last reading was bad. The value format has no quality: a failed
//     read is an empty payload, and expire_after marks the entity
//     unavailable once no good value came for three intervals.
//  3. Only names the configuration checked reach a template, and names are
//     [A-Za-z0-9_.-]: safe inside single quotes.
#include "gateway/ha_discovery.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>

#include "bridge/topics.hpp"
#include "config/homeassistant.hpp"
#include "config/topic_template.hpp"
#include "gateway/version.hpp"

namespace fieldgate::gateway {
namespace {

using Json = nlohmann::ordered_json;
using config::ha::Component;

// Where a point's value is in its state message.
struct Access {
  std::string guard;  // Jinja statements that set `v`, or leave it undefined
  bool has_quality = false;
  std::string quality_guard;  // sets `q`
};

Access access_for(std::string_view format, std::string_view point) {
  if (format == "json") {
    return {"{% set v = value_json.value %}", true, "{% set q = value_json.quality %}"};
  }
  if (format == "device-json") {
    const std::string p = fmt::format("value_json.points.get('{}')", point);
    return {fmt::format("{{% set e = {} %}}{{% set v = e.value if e else none %}}", p), true,
            fmt::format("{{% set e = {} %}}{{% set q = e.quality if e else none %}}", p)};
  }
  return {};
}

std::string state_template(const Access& a, Component c, bool numeric_options) {
  const bool on_off = c == Component::kBinarySensor || c == Component::kSwitch;
  if (a.guard.empty()) {  // the bare payload
    if (on_off) return "{{ 'ON' if value == 'true' else ('OFF' if value == 'false' else '') }}";
    return "{{ value }}";
  }
  const std::string shown = on_off ? "'ON' if v else 'OFF'" : numeric_options ? "'%g' % v" : "v";
  return fmt::format("{}{{% if v is not none %}}{{{{ {} }}}}{{% endif %}}", a.guard, shown);
}

std::string quality_template(const Access& a) {
  return fmt::format(
      "{}{{% if q is not none %}}{{{{ 'online' if q == 'good' else 'offline' }}}}{{% endif %}}",
      a.quality_guard);
}

std::string option_text(const config::AllowedValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{:g}", *d);
  return std::get<std::string>(v);
}

// Three intervals without a good value: the poll interval, or for
// on_change the max_interval heartbeat; none when nothing is promised.
std::optional<std::int64_t> expire_after(const config::DeviceConfig& d,
                                         const config::PointConfig& p) {
  auto every = d.interval_of(p);
  const auto& policy = d.policy_of(p);
  if (policy.mode == config::PublishMode::kOnChange) {
    if (policy.max_interval.count() <= 0) return std::nullopt;
    every = std::max(every, policy.max_interval);
  }
  return static_cast<std::int64_t>(std::ceil(3.0 * static_cast<double>(every.count()) / 1000.0));
}

Json availability_entry(const std::string& topic) {
  return Json{
      {"topic", topic}, {"payload_available", "online"}, {"payload_not_available", "offline"}};
}

struct Context {
  const config::Config& config;
  bridge::TopicMap topics;
  std::string prefix;
  std::string node;
  std::string base;  // the gateway's name as an id: unique_id and device ids start with it
  std::string status_topic;
};

Json origin() {
  return Json{{"name", "fieldgate"}, {"sw_version", kVersion}};
}

DiscoveryMessage gateway_entity(const Context& ctx) {
  Json c;
  c["name"] = "Connectivity";
  c["unique_id"] = ctx.base + "_status";
  c["state_topic"] = ctx.status_topic;
  c["payload_on"] = "online";
  c["payload_off"] = "offline";
  c["device_class"] = "connectivity";
  c["entity_category"] = "diagnostic";
  c["device"] = Json{{"identifiers", Json::array({ctx.base})},
                     {"name", ctx.config.gateway.name},
                     {"manufacturer", "fieldgate"},
                     {"model", "fieldgate gateway"},
                     {"sw_version", kVersion}};
  c["origin"] = origin();
  return {fmt::format("{}/binary_sensor/{}/status/config", ctx.prefix, ctx.node), "binary_sensor",
          "", "", std::move(c)};
}

Json device_block(const Context& ctx, const config::DeviceConfig& d) {
  Json block{{"identifiers", Json::array({ctx.base + "_" + config::ha::normalise_id(d.name)})},
             {"name", d.name}};
  if (!d.homeassistant.manufacturer.empty()) block["manufacturer"] = d.homeassistant.manufacturer;
  if (!d.homeassistant.model.empty()) block["model"] = d.homeassistant.model;
  block["via_device"] = ctx.base;
  return block;
}

void add_command(Json& c, const Context& ctx, const config::DeviceConfig& d,
                 const config::PointConfig& p) {
  c["command_topic"] = ctx.topics.command_route(d.name, p.name, p.unit).command;
  c["retain"] = false;  // a retained command is refused (it would run again at every connect)
}

DiscoveryMessage point_entity(const Context& ctx, const config::DeviceConfig& d,
                              const config::PointConfig& p) {
  const Component component = config::ha::component_of(p);
  const auto& o = p.ha_overrides();
  const bridge::Route route = ctx.topics.route(d.name, p.name, p.unit);
  const Access access = access_for(route.payload, p.name);
  const bool numeric_options =
      component == Component::kSelect && p.value_kind == config::ValueKind::kNumber;
  const bool number_state = p.value_kind == config::ValueKind::kNumber &&
                            (component == Component::kSensor || component == Component::kNumber);
  const auto unit_classes = config::ha::classes_for_unit(p.unit);

  Json c;
  c["name"] = o.name.value_or(p.name);
  c["unique_id"] = ctx.base + "_" + config::ha::object_id(d.name, p.name);
  c["state_topic"] = route.topic;
  c["value_template"] = state_template(access, component, numeric_options);
  c["qos"] = route.qos;
  Json availability = Json::array();
  availability.push_back(availability_entry(ctx.status_topic));
  availability.push_back(availability_entry(config::expand_topic_template(
      ctx.config.mqtt.availability_topic,
      config::TopicVars{ctx.config.gateway.name, ctx.config.gateway.site, d.name, {}, {}})));
  if (access.has_quality) {
    Json q = availability_entry(route.topic);
    q["value_template"] = quality_template(access);
    availability.push_back(std::move(q));
  }
  c["availability"] = std::move(availability);
  c["availability_mode"] = "all";
  if (number_state && !p.unit.empty()) c["unit_of_measurement"] = p.unit;

  const std::string device_class =
      o.device_class ? *o.device_class
                     : (number_state ? std::string(unit_classes.device_class) : std::string());
  if (!device_class.empty()) c["device_class"] = device_class;
  if (component == Component::kSensor && p.value_kind == config::ValueKind::kNumber) {
    std::string state_class = o.state_class.value_or(std::string(unit_classes.state_class));
    if (!o.state_class && !device_class.empty()) {
      // The unit's choice only where the class in effect allows it.
      const auto allowed = config::ha::state_classes_for(device_class);
      if (std::find(allowed.begin(), allowed.end(), state_class) == allowed.end()) {
        state_class = allowed.empty() ? "" : std::string(allowed.front());
      }
    }
    if (!state_class.empty()) c["state_class"] = state_class;
  }

  switch (component) {
    case Component::kSensor:
    case Component::kBinarySensor:
      if (const auto expire = expire_after(d, p)) c["expire_after"] = *expire;
      if (component == Component::kBinarySensor) {
        c["payload_on"] = "ON";
        c["payload_off"] = "OFF";
      }
      break;
    case Component::kSwitch:
      add_command(c, ctx, d, p);
      c["payload_on"] = "on";  // what the command channel takes as true
      c["payload_off"] = "off";
      c["state_on"] = "ON";  // what value_template renders
      c["state_off"] = "OFF";
      break;
    case Component::kNumber:
      add_command(c, ctx, d, p);
      // Home Assistant's defaults are 1..100: say the point's limits, or the
      // widest a float register holds when it has none.
      c["min"] = p.write().min.value_or(-3.4e38);
      c["max"] = p.write().max.value_or(3.4e38);
      c["step"] = std::max(0.001, std::abs(p.scale));
      c["mode"] = "box";
      break;
    case Component::kSelect: {
      add_command(c, ctx, d, p);
      Json options = Json::array();
      for (const auto& v : p.write().allowed) options.push_back(option_text(v));
      c["options"] = std::move(options);
      break;
    }
    case Component::kText:
      add_command(c, ctx, d, p);
      c["max"] = 255;
      break;
  }
  if (o.icon) c["icon"] = *o.icon;
  if (o.entity_category) c["entity_category"] = *o.entity_category;
  if (o.enabled_by_default) c["enabled_by_default"] = *o.enabled_by_default;
  c["device"] = device_block(ctx, d);
  c["origin"] = origin();
  const std::string component_name(config::ha::to_string(component));
  return {fmt::format("{}/{}/{}/{}/config", ctx.prefix, component_name, ctx.node,
                      config::ha::object_id(d.name, p.name)),
          component_name, d.name, p.name, std::move(c)};
}

}  // namespace

std::vector<DiscoveryMessage> discovery_messages(const config::Config& config) {
  std::vector<DiscoveryMessage> out;
  if (!config.homeassistant.enabled) return out;
  const Context ctx{config,
                    bridge::TopicMap(config),
                    config.homeassistant.discovery_prefix,
                    config::ha::node_id(config),
                    config::ha::normalise_id(config.gateway.name),
                    config::expand_topic_template(
                        config.mqtt.status_topic,
                        config::TopicVars{config.gateway.name, config.gateway.site, {}, {}, {}})};
  out.push_back(gateway_entity(ctx));
  for (const auto& d : config.devices) {
    for (const auto& p : d.points) out.push_back(point_entity(ctx, d, p));
  }
  return out;
}

std::map<std::string, std::string> discovery_payloads(const config::Config& config) {
  std::map<std::string, std::string> out;
  for (const auto& m : discovery_messages(config)) {
    out[m.topic] = m.config.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return out;
}

std::string discovery_status_topic(const config::Config& config) {
  if (!config.homeassistant.enabled) return {};
  return config.homeassistant.discovery_prefix + "/status";
}

}  // namespace fieldgate::gateway
