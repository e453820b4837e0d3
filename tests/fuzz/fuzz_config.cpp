// Fuzz target: the configuration loader (config::load_config_string), on any
// text. The only exception it may throw is ConfigError, with at least one
// issue, each with a message; anything else (another exception, a crash, a
// sanitizer report) is a defect.
//
// What the loader accepts, the rest of the gateway relies on without checking
// again, so a configuration that loads must also: plan into Modbus requests
// within the protocol's limits that cover every point exactly once; build a
// serial Framer and FrameParser without throwing; give every point a topic
// template that is valid and expands to a topic without wildcards or empty
// levels.
//
// Input: the TOML text as is (corpus: config/examples, driver samples, error cases).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/topic_template.hpp"
#include "drivers/modbus/plan.hpp"
#include "drivers/modbus/settings.hpp"
#include "drivers/serial/framer.hpp"
#include "drivers/serial/parser.hpp"
#include "tests/fuzz/fuzz_input.hpp"
#include "tests/support/config_loading.hpp"

namespace {

using namespace fieldgate;

void check_modbus_plan(const config::DeviceConfig& device) {
  std::vector<int> covered(device.points.size(), 0);
  for (const modbus::ReadRequest& r : modbus::plan_requests(device)) {
    const modbus::ModbusDeviceConfig& settings = modbus::device_of(device);
    const int limit = modbus::is_bit_kind(r.kind) ? settings.max_bits : settings.max_registers;
    FUZZ_CHECK(r.count >= 1 && r.count <= limit);
    FUZZ_CHECK(r.start >= 0 && r.start + r.count <= 65536);
    for (std::size_t i : r.points) {
      FUZZ_CHECK(i < device.points.size());
      ++covered[i];
    }
    (void)modbus::describe(r, device);
  }
  for (int n : covered) FUZZ_CHECK(n == 1);
}

void check_topics(const config::Config& c, const config::DeviceConfig& device) {
  for (const config::PointConfig& point : device.points) {
    const std::string& tmpl = point.topic ? *point.topic : device.topic.value_or(c.mqtt.topic);
    FUZZ_CHECK(config::validate_topic_template(tmpl, config::TopicScope::kPoint).empty());
    const std::string topic = config::expand_topic_template(
        tmpl, {c.gateway.name, c.gateway.site, device.name, point.name, point.unit});
    FUZZ_CHECK(!topic.empty() && topic.front() != '/' && topic.back() != '/');
    FUZZ_CHECK(topic.find("//") == std::string::npos);
    FUZZ_CHECK(topic.find_first_of(std::string_view("+#\0", 3)) == std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::Config loaded;
  try {
    loaded = fieldgate::test_support::load_config_string(text, "fuzz.toml");
  } catch (const config::ConfigError& e) {
    FUZZ_CHECK(!e.issues().empty());
    for (const config::ConfigIssue& issue : e.issues()) {
      FUZZ_CHECK(!issue.message.empty());
      (void)issue.to_string();
    }
    return 0;
  }
  FUZZ_CHECK(!loaded.devices.empty());
  for (const config::DeviceConfig& device : loaded.devices) {
    FUZZ_CHECK(!device.points.empty());
    if (device.driver == "serial-line") {
      // Throws for a pattern or group the loader should have refused.
      const serial::Framer framer(serial::line_of(device));
      const serial::FrameParser parser(device);
      (void)framer;
      (void)parser;
    } else {
      check_modbus_plan(device);
    }
    if (loaded.has_mqtt) check_topics(loaded, device);
  }
  return 0;
}
