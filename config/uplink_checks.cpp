// Checks of the MQTT mapping across [gateway], [mqtt], [[devices]] and their
// points, on the loaded Config. Topics are expanded with the same function the
// bridge publishes with (expand_topic_template), so what is checked is what
// will be sent.
#include <fmt/format.h>

#include <array>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "config/cross_checks.hpp"
#include "config/route.hpp"
#include "config/topic_template.hpp"

namespace fieldgate::config {
namespace {

constexpr std::array<std::string_view, 3> kPerPointKeys{"topic", "qos", "retain"};
// An MQTT topic is a UTF-8 string with a 16-bit length: a longer one is
// refused by the client (or the broker) at every attempt, and delivery stalls.
constexpr std::size_t kMaxTopicBytes = 65535;

// Where a device's payload format comes from, for messages and skip decisions.
std::string payload_source(const DeviceConfig& device, std::size_t index) {
  return device.payload ? fmt::format("devices[{}].payload", index) : "mqtt.payload";
}

// A device whose format publishes one message per poll with all its points
// (device-json) has nothing a per-point topic, qos or retain could apply to.
void check_per_device_points(const Config& config, Diagnostics& diag) {
  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const DeviceConfig& device = config.devices[i];
    const std::string source = payload_source(device, i);
    const RouteRule rule = resolve_route(config, &device, nullptr);
    if (diag.has_issue(source) || !rule.per_device) continue;
    for (std::size_t j = 0; j < device.points.size(); ++j) {
      const PointConfig& point = device.points[j];
      const std::array<bool, 3> given{point.topic.has_value(), point.qos.has_value(),
                                      point.retain.has_value()};
      for (std::size_t k = 0; k < kPerPointKeys.size(); ++k) {
        if (!given[k]) continue;
        const std::string path = fmt::format("devices[{}].points[{}].{}", i, j, kPerPointKeys[k]);
        diag.add(diag.position(path, point.pos), path,
                 fmt::format("not allowed with payload \"{}\" ({}): the device publishes "
                             "one message per poll with all its points, so a per-point {} cannot "
                             "apply",
                             rule.payload, source, kPerPointKeys[k]));
      }
    }
  }
}

// Every topic a configuration publishes to, with who publishes there. The
// first problem of each template source is reported; more would repeat it.
class TopicRegistry {
 public:
  explicit TopicRegistry(Diagnostics& diag) : diag_(diag) {}

  struct Publisher {
    std::string what;         // "devices[0].points[1] (meter/voltage)"
    std::string_view text;    // the template
    std::string source;       // key path of the template, or of the name that fills it
    SourcePos fallback;       // position when `source` was not read from the file
    bool per_point = false;   // a point's topic: needs {point} to be unique
    bool per_device = false;  // a per-device format's topic: needs {device}
  };

  void add(const Publisher& who, const TopicVars& vars) {
    if (reported_.contains(who.source)) return;
    const std::string topic = expand_topic_template(who.text, vars);
    if (topic.size() > kMaxTopicBytes) {
      // Not quoted back: it is longer than anyone reads.
      report(who, fmt::format("{} {} {} bytes long; MQTT allows at most {} (shorten the template "
                              "or the names in it)",
                              who.what, who.what.ends_with("topic") ? "is" : "publishes to a topic",
                              topic.size(), kMaxTopicBytes));
      return;
    }
    if (has_empty_level(topic)) {
      report(who, fmt::format("{} publishes to {}, which has an empty level ({})", who.what,
                              quote(topic), empty_placeholders(who.text, vars)));
      return;
    }
    const auto [it, inserted] = first_.emplace(topic, who.what);
    if (inserted) return;
    std::string message =
        fmt::format("{} and {} both publish to {}", it->second, who.what, quote(topic));
    if (who.per_point && !contains(who.text, "{point}")) {
      message += fmt::format(" (the template {} has no {{point}})", quote(who.text));
    } else if (who.per_device && !contains(who.text, "{device}")) {
      message += fmt::format(" (the template {} has no {{device}})", quote(who.text));
    }
    report(who, std::move(message));
  }

 private:
  static bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
  }
  static std::string quote(std::string_view s) { return fmt::format("{:?}", s); }

  static bool has_empty_level(std::string_view topic) {
    return topic.empty() || topic.front() == '/' || topic.back() == '/' || contains(topic, "//");
  }

  // Names are never empty; the site and a point's unit may be.
  static std::string empty_placeholders(std::string_view text, const TopicVars& vars) {
    if (contains(text, "{site}") && vars.site.empty()) return "{site} is empty: set gateway.site";
    if (contains(text, "{unit}") && vars.unit.empty()) return "{unit} is empty for this point";
    return "a placeholder is empty";
  }

  void report(const Publisher& who, std::string message) {
    reported_.insert(who.source);
    diag_.add(diag_.position(who.source, who.fallback), who.source, std::move(message));
  }

  Diagnostics& diag_;
  std::map<std::string, std::string> first_;  // topic → who published there first
  std::set<std::string> reported_;
};

// A writable point's command topic ("<topic>/set") must not be one the
// gateway publishes to (it would take its own readings for commands), and its
// result topic ("<topic>/set/result") must be its own.
// `point.text` is the template the point (per_device: its device) publishes to.
void add_command_topics(TopicRegistry& topics, const TopicRegistry::Publisher& point,
                        bool per_device, const MqttConfig& mqtt, const TopicVars& vars) {
  const CommandTopics templates = command_topics(mqtt, point.text, per_device, "{point}");
  TopicRegistry::Publisher who = point;
  who.per_device = false;
  who.what = point.what + "'s command topic";
  who.text = templates.command;
  topics.add(who, vars);
  who.what = point.what + "'s result topic";
  who.text = templates.result;
  topics.add(who, vars);
}

// A value the topics are built from was reported already (a bad template, a
// duplicate name): colliding topics would then only repeat that problem.
bool topic_inputs_reported(const Diagnostics& diag) {
  static constexpr std::array<std::string_view, 10> kInputs{
      "name",    "site", "topic",          "device_topic", "status_topic", "availability_topic",
      "payload", "unit", "command_suffix", "result_suffix"};
  return diag.any_issue([](std::string_view path) {
    if (!(path.starts_with("gateway.") || path.starts_with("mqtt.") ||
          path.starts_with("devices["))) {
      return false;
    }
    const std::string_view leaf = path.substr(path.rfind('.') + 1);
    for (std::string_view input : kInputs) {
      if (leaf == input) return true;
    }
    return false;
  });
}

void check_topics(const Config& config, Diagnostics& diag) {
  if (topic_inputs_reported(diag)) return;
  const MqttConfig& mqtt = config.mqtt;
  const auto in_file = [&diag](const std::string& path) {
    return diag.position(path, SourcePos{}).line != 0;
  };
  // Where a template comes from: the most specific key given, else the
  // [mqtt] default, else the name that tells this publisher apart.
  const auto source_of = [&](std::initializer_list<std::string> candidates, std::string name_path) {
    for (const std::string& path : candidates) {
      if (in_file(path)) return path;
    }
    return name_path;
  };

  TopicRegistry topics(diag);
  const TopicVars gateway_vars{config.gateway.name, config.gateway.site, {}, {}, {}};
  const std::string status_source = source_of({"mqtt.status_topic"}, "gateway.name");
  const std::string stats_topic = mqtt.status_topic + "/stats";
  topics.add({"the status topic", mqtt.status_topic, status_source, mqtt.pos}, gateway_vars);
  topics.add({"the stats topic", stats_topic, status_source, mqtt.pos}, gateway_vars);

  for (std::size_t i = 0; i < config.devices.size(); ++i) {
    const DeviceConfig& device = config.devices[i];
    const std::string base = fmt::format("devices[{}]", i);
    TopicRegistry::Publisher availability;
    availability.what = fmt::format("{} ({})'s availability topic", base, device.name);
    availability.text = mqtt.availability_topic;
    availability.source = source_of({"mqtt.availability_topic"}, base + ".name");
    availability.fallback = device.pos;
    availability.per_device = true;
    topics.add(availability, {config.gateway.name, config.gateway.site, device.name, {}, {}});
    if (const RouteRule rule = resolve_route(config, &device, nullptr); rule.per_device) {
      TopicRegistry::Publisher who;
      who.what = fmt::format("{} ({})", base, device.name);
      who.text = rule.topic_template;
      who.source = rule.topic_from == RouteLevel::kDevice
                       ? base + ".device_topic"
                       : source_of({"mqtt.device_topic"}, base + ".name");
      who.fallback = device.pos;
      who.per_device = true;
      topics.add(who, {config.gateway.name, config.gateway.site, device.name, {}, {}});
      for (std::size_t j = 0; j < device.points.size(); ++j) {
        const PointConfig& point = device.points[j];
        if (!point.write().writable) continue;
        TopicRegistry::Publisher cmd = who;
        cmd.what = fmt::format("{}.points[{}] ({}/{})", base, j, device.name, point.name);
        add_command_topics(
            topics, cmd, true, mqtt,
            {config.gateway.name, config.gateway.site, device.name, point.name, point.unit});
      }
      continue;
    }
    for (std::size_t j = 0; j < device.points.size(); ++j) {
      const PointConfig& point = device.points[j];
      const std::string point_base = fmt::format("{}.points[{}]", base, j);
      TopicRegistry::Publisher who;
      who.what = fmt::format("{} ({}/{})", point_base, device.name, point.name);
      const RouteRule rule = resolve_route(config, &device, &point);
      who.text = rule.topic_template;
      switch (rule.topic_from) {
        case RouteLevel::kPoint:
          who.source = point_base + ".topic";
          break;
        case RouteLevel::kDevice:
          who.source = base + ".topic";
          break;
        case RouteLevel::kMqtt:
          who.source = source_of({"mqtt.topic"}, point_base + ".name");
          break;
      }
      who.fallback = point.pos;
      who.per_point = true;
      const TopicVars vars{config.gateway.name, config.gateway.site, device.name, point.name,
                           point.unit};
      topics.add(who, vars);
      if (point.write().writable) add_command_topics(topics, who, false, mqtt, vars);
    }
  }
}

}  // namespace

void check_uplink(const Config& config, Diagnostics& diag) {
  check_per_device_points(config, diag);
  check_topics(config, diag);
}

}  // namespace fieldgate::config
