// Home Assistant MQTT discovery end to end: the real `fieldgate run` binary,
// a real mosquitto, three simulated meters (one per payload format: json,
// device-json, value). The configs that arrive are checked by
// ha_discovery_check.py against Home Assistant's documented schema, and each
// value_template is rendered by Jinja2 against the state message that
// arrived on its state_topic; the relay is switched with the switch's own
// command payloads; "homeassistant/status" "online" causes one resend, a
// flood no more; a reload deletes a removed point's entity.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {
namespace {

using std::chrono::seconds;
using Json = nlohmann::json;

constexpr std::size_t kEntities = 1 + 7 + 3 + 2;  // the gateway, meter, panel, plain
const std::string kAlarmConfig = "homeassistant/binary_sensor/gw/meter_alarm/config";

std::string alarm_point(bool with_alarm) {
  if (!with_alarm) return "";
  return R"(
  [[devices.points]]
  name = "alarm"
  kind = "discrete_input"
  address = 0
)";
}

class HomeAssistantTest : public ::testing::Test {
 protected:
  HomeAssistantTest()
      : meter_(sim::ModbusSimServer::tcp({"127.0.0.1", 0})),
        panel_(sim::ModbusSimServer::tcp({"127.0.0.1", 0})),
        plain_(sim::ModbusSimServer::tcp({"127.0.0.1", 0})),
        broker_(dir_.path()),
        configs_(broker_.uri(), "homeassistant/+/+/+/config", 1),
        states_(broker_.uri(), "fieldgate/#", 1),
        publisher_(broker_.uri()) {}

  std::filesystem::path write_config(bool with_alarm = true) {
    return dir_.write(
        "gateway.toml",
        fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
[mqtt]
broker = "{}"
status_interval = "1h"
reconnect_min = "100ms"
reconnect_max = "500ms"
command_max_age = "30s"
[homeassistant]
enabled = true
resend_interval = "1h"

[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "300ms"
homeassistant = {{ manufacturer = "fieldgate", model = "simulated power meter" }}
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
  scale = 0.001
  unit = "kWh"
  [[devices.points]]
  name = "relay_1"
  kind = "coil"
  address = 0
  writable = true
  [[devices.points]]
  name = "setpoint"
  kind = "holding"
  address = 15
  type = "int16"
  scale = 0.1
  unit = "°C"
  writable = true
  min = 5
  max = 30
  [[devices.points]]
  name = "ct_ratio"
  kind = "holding"
  address = 12
  writable = true
  allowed = [1, 100, 200]
  [[devices.points]]
  name = "label"
  kind = "holding"
  address = 16
  type = "string"
  count = 4
  writable = true
{}
[[devices]]
name = "panel"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "300ms"
payload = "device-json"
  [[devices.points]]
  name = "voltage"
  kind = "input"
  address = 0
  type = "float32"
  unit = "V"
  [[devices.points]]
  name = "door_closed"
  kind = "discrete_input"
  address = 0
  [[devices.points]]
  name = "relay_2"
  kind = "coil"
  address = 1
  writable = true

[[devices]]
name = "plain"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "300ms"
payload = "value"
  [[devices.points]]
  name = "power"
  kind = "input"
  address = 18
  type = "float32"
  unit = "W"
  [[devices.points]]
  name = "relay_2"
  kind = "coil"
  address = 1
  writable = true
)",
                    (dir_.path() / "buffer.db").string(), broker_.uri(), meter_.server().port(),
                    alarm_point(with_alarm), panel_.server().port(), plain_.server().port()));
  }

  std::unique_ptr<ChildProcess> start(const std::filesystem::path& config) {
    EXPECT_TRUE(configs_.wait_connected(seconds(10)));
    EXPECT_TRUE(states_.wait_connected(seconds(10)));
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "run", "-c", config.string()}, dir_.path());
  }

  // The last config per topic.
  std::map<std::string, Json> configs() const {
    std::map<std::string, Json> out;
    for (const auto& m : configs_.messages()) {
      out[m.topic] = m.payload.empty() ? Json() : Json::parse(m.payload);
    }
    return out;
  }

  // The last state message per topic, and the device-json message of a
  // device that carried every point.
  std::map<std::string, std::string> states() const {
    std::map<std::string, std::string> out;
    for (const auto& m : states_.messages()) out[m.topic] = m.payload;
    return out;
  }

  static std::string format_of(const std::string& device) {
    return device == "panel" ? "device-json" : device == "plain" ? "value" : "json";
  }

  // Reads the coil over a connection of its own, as another master would.
  bool relay_1() {
    InlineGateway reader(fmt::format(R"(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
[[devices.points]]
name = "relay_1"
kind = "coil"
address = 0
)",
                                     meter_.server().port()));
    return value_of<bool>(reader.read_all(), "meter/relay_1");
  }

  std::size_t count_on(const std::string& topic) const {
    std::size_t n = 0;
    for (const auto& m : configs_.messages()) n += m.topic == topic ? 1 : 0;
    return n;
  }

  ScratchDir dir_;
  SimThread meter_;
  SimThread panel_;
  SimThread plain_;
  Mosquitto broker_;
  Subscriber configs_;
  Subscriber states_;
  Publisher publisher_;
};

TEST_F(HomeAssistantTest, ConfigsFollowTheSchemaAndTemplatesRenderTheRealStates) {
  auto run = start(write_config());
  ASSERT_TRUE(configs_.wait_for(kEntities, seconds(30))) << run->report();
  const auto all = configs();
  ASSERT_EQ(all.size(), kEntities);

  // Every entity with a state topic has had a good state message on it.
  Json entries = Json::array();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto got = states();
        for (const auto& [topic, config] : all) {
          if (!config.contains("state_topic")) continue;
          const auto it = got.find(config["state_topic"].get<std::string>());
          if (it == got.end()) return false;
          if (it->second.find("\"quality\":\"good\"") == std::string::npos &&
              config["state_topic"].get<std::string>().rfind("fieldgate/gw/plain", 0) != 0 &&
              topic.find("/status/") == std::string::npos)
            return false;
        }
        return true;
      },
      seconds(30)))
      << run->report();
  const auto got = states();
  for (const auto& [topic, config] : all) {
    const std::string state_topic = config["state_topic"];
    const std::string object = topic.substr(0, topic.rfind('/'));
    const std::string id = object.substr(object.rfind('/') + 1);  // <device>_<point>
    const std::string device = id.substr(0, id.find('_'));
    Json entry{{"topic", topic},
               {"config", config},
               {"format", format_of(device)},
               {"point", id.substr(id.find('_') + 1)}};
    // The gateway's own entity has its status topic, not a reading.
    entry["state"] =
        topic.find("/status/") != std::string::npos ? Json() : Json(got.at(state_topic));
    entries.push_back(std::move(entry));
  }
  const auto file = dir_.write("entities.json", entries.dump(2));
  const auto check =
      run_command({FIELDGATE_PYTHON,
                   FIELDGATE_SOURCE_DIR "/tests/integration/ha_discovery_check.py", file.string()},
                  dir_.path());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // What a few of them rendered, against what the meter holds.
  const Json rendered =
      Json::parse(check.out.substr(check.out.rfind('\n', check.out.size() - 2) + 1));
  EXPECT_EQ(rendered.at("homeassistant/select/gw/meter_ct_ratio/config"), "100");
  EXPECT_EQ(rendered.at("homeassistant/switch/gw/meter_relay_1/config"), "OFF");
  EXPECT_EQ(rendered.at("homeassistant/binary_sensor/gw/panel_door_closed/config"), "ON");
  EXPECT_EQ(rendered.at("homeassistant/switch/gw/plain_relay_2/config"), "ON");
  EXPECT_NEAR(
      std::stod(rendered.at("homeassistant/sensor/gw/meter_voltage_l1/config").get<std::string>()),
      230.0, 20.0);
}

TEST_F(HomeAssistantTest, TheSwitchsCommandPayloadsSwitchTheCoil) {
  auto run = start(write_config());
  ASSERT_TRUE(configs_.wait_for(kEntities, seconds(30))) << run->report();
  const Json relay = configs().at("homeassistant/switch/gw/meter_relay_1/config");
  ASSERT_TRUE(wait_until(
      [&] { return run->stderr_text().find("command topic") != std::string::npos; }, seconds(20)))
      << run->report();
  ASSERT_FALSE(relay_1());
  publisher_.publish(relay.at("command_topic").get<std::string>(),
                     relay.at("payload_on").get<std::string>(), 1);
  EXPECT_TRUE(wait_until([&] { return relay_1(); }, seconds(20))) << run->report();
  publisher_.publish(relay.at("command_topic").get<std::string>(),
                     relay.at("payload_off").get<std::string>(), 1);
  EXPECT_TRUE(wait_until([&] { return !relay_1(); }, seconds(20))) << run->report();
}

TEST_F(HomeAssistantTest, OnlineOnTheStatusTopicResendsOnceAndAFloodNoMore) {
  auto run = start(write_config());
  ASSERT_TRUE(configs_.wait_for(kEntities, seconds(30))) << run->report();
  ASSERT_TRUE(wait_until(
      [&] { return run->stderr_text().find("command topic") != std::string::npos; }, seconds(20)))
      << run->report();
  // Hostile first: a large payload and other words change nothing.
  publisher_.publish("homeassistant/status", std::string(100000, 'x'), 1);
  publisher_.publish("homeassistant/status", "offline", 1);
  publisher_.publish("homeassistant/status", "online", 1);
  ASSERT_TRUE(configs_.wait_for(2 * kEntities, seconds(30))) << run->report();
  for (int i = 0; i < 200; ++i) publisher_.publish("homeassistant/status", "online", 0);
  // resend_interval is 1h: nothing more may come. (A negative needs a bound.)
  EXPECT_FALSE(configs_.wait_for(2 * kEntities + 1, seconds(3)));
  EXPECT_EQ(configs_.messages().size(), 2 * kEntities);
}

TEST_F(HomeAssistantTest, AReloadDeletesARemovedPointsEntityAndLeavesTheRest) {
  auto run = start(write_config(true));
  ASSERT_TRUE(configs_.wait_for(kEntities, seconds(30))) << run->report();
  ASSERT_EQ(count_on(kAlarmConfig), 1U);
  write_config(false);
  ASSERT_EQ(::kill(run->pid(), SIGHUP), 0);
  ASSERT_TRUE(configs_.wait_for(kEntities + 1, seconds(30))) << run->report();
  const auto last = configs_.messages().back();
  EXPECT_EQ(last.topic, kAlarmConfig);
  EXPECT_EQ(last.payload, "");  // deletes the entity
  // Unchanged entities are not sent again.
  EXPECT_FALSE(configs_.wait_for(kEntities + 2, seconds(3)));
}

}  // namespace
}  // namespace fieldgate::testing
