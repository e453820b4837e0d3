#include "bridge/topics.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "bridge/json_text.hpp"
#include "bridge/value_json.hpp"
#include "config/topic_template.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {
namespace {

using config::PayloadFormat;
using Json = nlohmann::ordered_json;  // keys in the documented order

// Heterogeneous lookup key: route() is called for every reading, and building
// a pair of std::strings for each lookup would allocate.
struct RouteKey {
  std::string_view device;
  std::string_view point;
};
using StoredKey = std::pair<std::string, std::string>;

// Compared as string_views on both sides: clang 14 with libstdc++ 12 finds no
// comparison between a tuple of string_view and one of string (the fuzz build).
[[maybe_unused]] bool operator<(const RouteKey& a, const StoredKey& b) {
  return std::tie(a.device, a.point) <
         std::make_tuple(std::string_view(b.first), std::string_view(b.second));
}
[[maybe_unused]] bool operator<(const StoredKey& a, const RouteKey& b) {
  return std::make_tuple(std::string_view(a.first), std::string_view(a.second)) <
         std::tie(b.device, b.point);
}

int clamp_qos(int qos) {
  return std::clamp(qos, 0, 2);
}

// Point → device → [mqtt]. A device-json device publishes one message per
// poll, so only device-level settings apply to it (the loader rejects
// per-point topic/qos/retain there).
Route resolve(const config::Config& config, const config::DeviceConfig* device,
              const config::PointConfig* point, std::string_view device_name,
              std::string_view point_name, std::string_view unit) {
  const config::MqttConfig& mqtt = config.mqtt;
  Route route;
  route.payload = device && device->payload ? *device->payload : mqtt.payload;
  const config::TopicVars vars{config.gateway.name, config.gateway.site, device_name, point_name,
                               unit};
  if (route.payload == PayloadFormat::kDeviceJson) {
    const std::string& tmpl =
        device && device->device_topic ? *device->device_topic : mqtt.device_topic;
    route.topic = config::expand_topic_template(tmpl, vars);
    route.qos = clamp_qos(device && device->qos ? *device->qos : mqtt.qos);
    route.retain = device && device->retain ? *device->retain : mqtt.retain;
    return route;
  }
  const std::string* tmpl = &mqtt.topic;
  if (point && point->topic) {
    tmpl = &*point->topic;
  } else if (device && device->topic) {
    tmpl = &*device->topic;
  }
  route.topic = config::expand_topic_template(*tmpl, vars);
  int qos = mqtt.qos;
  if (point && point->qos) {
    qos = *point->qos;
  } else if (device && device->qos) {
    qos = *device->qos;
  }
  route.qos = clamp_qos(qos);
  route.retain = mqtt.retain;
  if (point && point->retain) {
    route.retain = *point->retain;
  } else if (device && device->retain) {
    route.retain = *device->retain;
  }
  return route;
}


// The value as JSON: null for a failed read, and for NaN and infinities,
// which JSON cannot express (their quality is kept as it was).
Json json_value(const Reading& reading) {
  if (reading.quality != Quality::kGood) return nullptr;
  return value_to_json<Json>(reading.value);
}

// Strings from devices (Modbus string registers) may hold any bytes; invalid
// UTF-8 becomes U+FFFD instead of failing the whole message.
std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

TopicMap::TopicMap(const config::Config& config) : config_(config) {
  for (const auto& device : config_.devices) {
    for (const auto& point : device.points) {
      routes_.emplace(StoredKey{device.name, point.name},
                      resolve(config_, &device, &point, device.name, point.name, point.unit));
    }
  }
  // From here on route() needs only device-level settings (for points the
  // configuration no longer has); the points themselves would keep a second
  // copy of the largest part of the configuration for as long as it runs.
  for (auto& device : config_.devices) {
    device.points.clear();
    device.points.shrink_to_fit();
  }
}

Route TopicMap::route(std::string_view device, std::string_view point,
                      std::string_view unit) const {
  if (auto it = routes_.find(RouteKey{device, point}); it != routes_.end()) return it->second;
  // Buffered before a reload removed the point (or its device): a known
  // device keeps its own settings, an unknown one gets the [mqtt] defaults.
  const config::DeviceConfig* known = config_.find_device(std::string(device));
  return resolve(config_, known, nullptr, device, point, unit);
}

CommandRoute TopicMap::command_route(std::string_view device, std::string_view point,
                                     std::string_view unit) const {
  const Route r = route(device, point, unit);
  // The same rule as config/uplink_checks.cpp, which checks these topics.
  const std::string base =
      r.payload == PayloadFormat::kDeviceJson ? fmt::format("{}/{}", r.topic, point) : r.topic;
  CommandRoute out;
  out.command = fmt::format("{}/{}", base, config_.mqtt.command_suffix);
  out.result = fmt::format("{}/{}", out.command, config_.mqtt.result_suffix);
  return out;
}

// Written with fmt rather than built as an nlohmann::ordered_json and dumped:
// this runs for every reading, and the tree cost an allocation per key and
// value. The bytes are the same (bridge/json_text.hpp).
std::string json_payload(const Reading& reading) {
  fmt::memory_buffer out;
  out.append(std::string_view(R"({"value":)"));
  if (reading.quality == Quality::kGood) {
    append_json_value(out, reading.value);
  } else {
    out.append(std::string_view("null"));
  }
  out.append(std::string_view(R"(,"unit":)"));
  append_json_string(out, reading.unit);
  out.append(std::string_view(R"(,"ts":")"));
  append_iso8601(out, reading.source_ts_ms);  // digits, '-', ':', '.', 'T', 'Z' only
  fmt::format_to(std::back_inserter(out), R"(","ts_ms":{},"seq":{},"quality":)",
                 reading.source_ts_ms, reading.seq);
  append_json_string(out, to_string(reading.quality));
  if (reading.quality != Quality::kGood) {
    out.append(std::string_view(R"(,"error":)"));
    append_json_string(out, reading.error);
  }
  out.push_back('}');
  return fmt::to_string(out);
}

std::string value_payload(const Reading& reading) {
  if (reading.quality != Quality::kGood) return {};
  struct Visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return fmt::format("{}", i); }
    // fmt prints the shortest text that reads back as the same double.
    std::string operator()(double d) const { return fmt::format("{}", d); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, reading.value);
}

std::string device_json_payload(std::span<const Reading> readings) {
  Json j;
  if (readings.empty()) return dump(Json::object());
  const Reading& first = readings.front();
  std::uint64_t seq_first = first.seq;
  std::uint64_t seq_last = first.seq;
  Json points = Json::object();
  for (const Reading& r : readings) {
    seq_first = std::min(seq_first, r.seq);
    seq_last = std::max(seq_last, r.seq);
    Json p;
    p["value"] = json_value(r);
    p["unit"] = r.unit;
    p["quality"] = to_string(r.quality);
    p["seq"] = r.seq;
    if (r.quality != Quality::kGood) p["error"] = r.error;
    points[r.point] = std::move(p);
  }
  j["device"] = first.device;
  j["ts"] = iso8601(first.source_ts_ms);
  j["ts_ms"] = first.source_ts_ms;
  j["seq_first"] = seq_first;
  j["seq_last"] = seq_last;
  j["points"] = std::move(points);
  return dump(j);
}

}  // namespace fieldgate::bridge
