// Home Assistant discovery: the [homeassistant] keys and overrides as the
// loader reads them, the object id normalisation and its collisions, and
// the generator's messages (component, topics, templates, classes, the device
// block). The templates are rendered by Jinja2 against real messages in the
// integration test (tests/integration/homeassistant_test.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config/homeassistant.hpp"
#include "gateway/ha_discovery.hpp"
#include "tests/support/config_loading.hpp"

namespace fieldgate::gateway {
namespace {

using ::testing::HasSubstr;

config::Config load(const std::string& toml) {
  return test_support::load_config_string(toml, "t.toml");
}

std::string errors_of(const std::string& toml) {
  try {
    (void)load(toml);
  } catch (const config::ConfigError& e) {
    std::string out;
    for (const auto& issue : e.issues()) out += issue.to_string() + "\n";
    return out;
  }
  return "";
}

const std::string kMeter = R"toml(
[gateway]
name = "Demo"
site = "plant"

[mqtt]
topic = "{site}/{device}/{point}"
status_topic = "{site}/fieldgate/status"

[homeassistant]
enabled = true

[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
poll_interval = "2s"
homeassistant = { manufacturer = "Acme", model = "PM-1" }

  [[devices.points]]
  name = "voltage_l1"
  kind = "input"
  address = 0
  type = "float32"
  unit = "V"

  [[devices.points]]
  name = "energy_import"
  kind = "holding"
  address = 0
  type = "uint64"
  unit = "kWh"

  [[devices.points]]
  name = "relay_1"
  kind = "coil"
  address = 0
  writable = true

  [[devices.points]]
  name = "alarm"
  kind = "discrete_input"
  address = 0

  [[devices.points]]
  name = "setpoint"
  kind = "holding"
  address = 10
  type = "int16"
  scale = 0.1
  writable = true
  min = 5
  max = 30

  [[devices.points]]
  name = "mode"
  kind = "holding"
  address = 11
  type = "uint16"
  writable = true
  allowed = [0, 1, 2]
)toml";

const DiscoveryMessage& find(const std::vector<DiscoveryMessage>& all, const std::string& point) {
  for (const auto& m : all) {
    if (m.point == point) return m;
  }
  throw std::runtime_error("no entity for " + point);
}

TEST(HaNormaliseTest, LowerCasesAndReplacesWhatHomeAssistantRefuses) {
  EXPECT_EQ(config::ha::normalise_id("Meter.L1"), "meter_l1");
  EXPECT_EQ(config::ha::normalise_id("bed-12"), "bed-12");
  EXPECT_EQ(config::ha::normalise_id("a_b"), "a_b");
  EXPECT_EQ(config::ha::normalise_id("\xC3\xA9t\xC3\xA9"), "__t__");  // bytes, one '_' each
  EXPECT_EQ(config::ha::object_id("Meter", "V.L1"), "meter_v_l1");
  // The same name, the same id, every time.
  EXPECT_EQ(config::ha::normalise_id("X.y"), config::ha::normalise_id("X.y"));
}

TEST(HaNormaliseTest, ACollisionAfterNormalisingIsAnErrorAtTheSecondName) {
  const std::string errors = errors_of(R"toml(
[homeassistant]
enabled = true
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
  [[devices.points]]
  name = "v.l1"
  kind = "input"
  address = 0
  [[devices.points]]
  name = "V_L1"
  kind = "input"
  address = 1
)toml");
  EXPECT_THAT(errors, HasSubstr("t.toml:13:10: devices[0].points[1].name: Home Assistant object "
                                "id \"meter_v_l1\""));
  EXPECT_THAT(errors, HasSubstr("devices[0].points[0] at line 9"));
}

TEST(HaNormaliseTest, NoCollisionCheckWhileDiscoveryIsOff) {
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
  [[devices.points]]
  name = "v.l1"
  kind = "input"
  address = 0
  [[devices.points]]
  name = "v_l1"
  kind = "input"
  address = 1
)toml"),
            "");
}

TEST(HaConfigTest, DefaultsAndKeys) {
  const auto c = load(kMeter);
  EXPECT_TRUE(c.homeassistant.enabled);
  EXPECT_EQ(c.homeassistant.discovery_prefix, "homeassistant");
  EXPECT_EQ(config::ha::node_id(c), "demo");
  EXPECT_EQ(c.homeassistant.resend_interval, std::chrono::seconds(30));
  EXPECT_EQ(c.devices[0].homeassistant.model, "PM-1");
}

TEST(HaConfigTest, AnUnknownDeviceClassListsTheComponentsClasses) {
  const std::string errors = errors_of(R"toml(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
  [[devices.points]]
  name = "relay"
  kind = "coil"
  address = 0
  writable = true
  homeassistant = { device_class = "lamp" }
)toml");
  EXPECT_THAT(errors, HasSubstr("t.toml:11:"));
  EXPECT_THAT(errors, HasSubstr("devices[0].points[0].homeassistant.device_class: "
                                "expected one of the switch device classes: outlet, switch; got "
                                "\"lamp\""));
}

TEST(HaConfigTest, OverridesThatHomeAssistantWouldRefuseAreErrors) {
  const std::string errors = errors_of(R"toml(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
  [[devices.points]]
  name = "energy"
  kind = "input"
  address = 0
  unit = "kWh"
  homeassistant = { state_class = "measurement", entity_category = "config", icon = "flash", component = "switch" }
)toml");
  EXPECT_THAT(errors, HasSubstr("homeassistant.state_class: device class \"energy\" allows "
                                "state_class total or total_increasing; got \"measurement\""));
  EXPECT_THAT(errors, HasSubstr("homeassistant.entity_category: a sensor cannot be a \"config\""));
  EXPECT_THAT(errors, HasSubstr("homeassistant.icon: expected an icon such as \"mdi:flash\""));
  EXPECT_THAT(errors, HasSubstr("homeassistant.component: a switch needs a writable bool point"));
}

TEST(HaDiscoveryTest, NothingWhileDisabled) {
  auto c = load(kMeter);
  c.homeassistant.enabled = false;
  EXPECT_TRUE(discovery_messages(c).empty());
  EXPECT_EQ(discovery_status_topic(c), "");
}

TEST(HaDiscoveryTest, EachPointBecomesTheComponentItsKindAndWritabilitySay) {
  const auto all = discovery_messages(load(kMeter));
  ASSERT_EQ(all.size(), 7U);  // the gateway's connectivity and six points
  EXPECT_EQ(all[0].topic, "homeassistant/binary_sensor/demo/status/config");
  EXPECT_EQ(find(all, "voltage_l1").topic, "homeassistant/sensor/demo/meter_voltage_l1/config");
  EXPECT_EQ(find(all, "relay_1").component, "switch");
  EXPECT_EQ(find(all, "alarm").component, "binary_sensor");
  EXPECT_EQ(find(all, "setpoint").component, "number");
  EXPECT_EQ(find(all, "mode").component, "select");
}

TEST(HaDiscoveryTest, ASensorCarriesTopicTemplateUnitClassesAndItsDevice) {
  const auto all = discovery_messages(load(kMeter));
  const auto& v = find(all, "voltage_l1").config;
  EXPECT_EQ(v["unique_id"], "demo_meter_voltage_l1");
  EXPECT_EQ(v["state_topic"], "plant/meter/voltage_l1");
  EXPECT_EQ(v["value_template"],
            "{% set v = value_json.value %}{% if v is not none %}{{ v }}{% endif %}");
  EXPECT_EQ(v["unit_of_measurement"], "V");
  EXPECT_EQ(v["device_class"], "voltage");
  EXPECT_EQ(v["state_class"], "measurement");
  EXPECT_EQ(v["expire_after"], 6);  // three 2 s polls
  EXPECT_EQ(v["availability_mode"], "all");
  ASSERT_EQ(v["availability"].size(), 3U);
  EXPECT_EQ(v["availability"][0]["topic"], "plant/fieldgate/status");
  EXPECT_EQ(v["availability"][1]["topic"], "fieldgate/Demo/meter/availability");
  EXPECT_EQ(v["availability"][2]["topic"], "plant/meter/voltage_l1");
  EXPECT_EQ(v["device"]["identifiers"][0], "demo_meter");
  EXPECT_EQ(v["device"]["manufacturer"], "Acme");
  EXPECT_EQ(v["device"]["model"], "PM-1");
  EXPECT_EQ(v["device"]["via_device"], "demo");
  EXPECT_EQ(find(all, "energy_import").config["state_class"], "total_increasing");
  EXPECT_EQ(find(all, "energy_import").config["device_class"], "energy");
}

TEST(HaDiscoveryTest, WritablePointsCarryTheirCommandTopicAndLimits) {
  const auto all = discovery_messages(load(kMeter));
  const auto& relay = find(all, "relay_1").config;
  EXPECT_EQ(relay["command_topic"], "plant/meter/relay_1/set");
  EXPECT_EQ(relay["payload_on"], "on");
  EXPECT_EQ(relay["state_on"], "ON");
  EXPECT_FALSE(relay.contains("expire_after"));
  const auto& setpoint = find(all, "setpoint").config;
  EXPECT_EQ(setpoint["min"], 5.0);
  EXPECT_EQ(setpoint["max"], 30.0);
  EXPECT_DOUBLE_EQ(setpoint["step"].get<double>(), 0.1);
  const auto& mode = find(all, "mode").config;
  EXPECT_EQ(mode["options"], nlohmann::ordered_json::array({"0", "1", "2"}));
}

TEST(HaDiscoveryTest, TheTemplateFollowsThePayloadFormat) {
  std::string toml = kMeter;
  toml.replace(toml.find("poll_interval"), 0, "payload = \"device-json\"\n");
  const auto all = discovery_messages(load(toml));
  const auto& v = find(all, "voltage_l1").config;
  EXPECT_EQ(v["state_topic"], "fieldgate/Demo/meter");
  EXPECT_THAT(v["value_template"].get<std::string>(),
              HasSubstr("value_json.points.get('voltage_l1')"));
  toml = kMeter;
  toml.replace(toml.find("poll_interval"), 0, "payload = \"value\"\n");
  const auto plain = discovery_messages(load(toml));
  EXPECT_EQ(find(plain, "voltage_l1").config["value_template"], "{{ value }}");
  // No quality in the payload: two availability topics, expire_after does the rest.
  EXPECT_EQ(find(plain, "voltage_l1").config["availability"].size(), 2U);
}

TEST(HaDiscoveryTest, OverridesWin) {
  std::string toml = kMeter;
  toml.replace(toml.find("  unit = \"V\""), 0,
               "  homeassistant = { name = \"Voltage L1\", device_class = \"voltage\", icon = "
               "\"mdi:flash\", entity_category = \"diagnostic\", enabled_by_default = false }\n");
  const auto all = discovery_messages(load(toml));
  const auto& v = find(all, "voltage_l1").config;
  EXPECT_EQ(v["name"], "Voltage L1");
  EXPECT_EQ(v["icon"], "mdi:flash");
  EXPECT_EQ(v["entity_category"], "diagnostic");
  EXPECT_EQ(v["enabled_by_default"], false);
}

TEST(HaDiscoveryTest, TheSameConfigGivesTheSameBytes) {
  EXPECT_EQ(discovery_payloads(load(kMeter)), discovery_payloads(load(kMeter)));
}

}  // namespace
}  // namespace fieldgate::gateway
