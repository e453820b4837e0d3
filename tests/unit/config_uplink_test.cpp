// load_config() of the uplink's tables: [store], [mqtt], [mqtt.tls] and
// the MQTT keys of devices and points — every key, every default, and the errors that are clearer
// as assertions than as golden files. More error cases with exact messages are in tests/testcases/
// (config_golden_test.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// One device with two points, to append to the tables under test.
constexpr const char* kDevice = R"toml(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
  [[devices.points]]
  name = "voltage"
  kind = "input"
  address = 0
  type = "float32"
  unit = "V"
  [[devices.points]]
  name = "current"
  kind = "input"
  address = 2
  type = "float32"
  unit = "A"
)toml";

TEST(ConfigUplinkTest, LoadsEveryStoreAndMqttKey) {
  ::setenv("FIELDGATE_TEST_BROKER_HOST", "broker.example", 1);
  const Config c = load(std::string(R"toml(
[gateway]
name = "gw-1"
site = "plant.3"

[store]
path = "/data/fieldgate.db"
durability = "full"
commit_interval = "250ms"
commit_batch = 500
max_bytes = "1.5GiB"
max_rows = 123456
max_age = "30d"
overflow = "drop_newest"
mode = "spill"
spill_after = "2s"
spill_memory = "512KiB"

[mqtt]
broker = "mqtts://${FIELDGATE_TEST_BROKER_HOST}:8884"
client_id = "a-client-id-longer-than-23-bytes"
protocol = "5"
keepalive = "45s"
clean_session = false
connect_timeout = "3s"
username = "gateway"
password_file = "/etc/fieldgate/mqtt-password"
password_credential = "broker-pass"
max_inflight = 20
max_inflight_qos2 = 10
reconnect_min = "500ms"
reconnect_max = "2m"
drain_timeout = "0s"
topic = "{site}/{gateway}/{device}/{point}/{unit}"
device_topic = "{site}/{device}"
status_topic = "{site}/{gateway}/state"
status_interval = "15s"
qos = 2
retain = true
payload = "value"

  [mqtt.tls]
  ca_file = "/etc/ssl/broker-ca.pem"
  cert_file = "/etc/fieldgate/client.crt"
  key_file = "/etc/fieldgate/client.key"
  verify_hostname = false
)toml") + kDevice);
  ::unsetenv("FIELDGATE_TEST_BROKER_HOST");

  EXPECT_EQ(c.gateway.name, "gw-1");
  EXPECT_EQ(c.gateway.site, "plant.3");

  const StoreConfig& s = c.store;
  EXPECT_EQ(s.path, "/data/fieldgate.db");
  EXPECT_EQ(s.durability, Durability::kFull);
  EXPECT_EQ(s.commit_interval, milliseconds{250});
  EXPECT_EQ(s.commit_batch, 500);
  EXPECT_EQ(s.max_bytes, 1536ULL * 1024 * 1024);
  EXPECT_EQ(s.max_rows, 123456u);
  EXPECT_EQ(s.max_age, hours{30 * 24});
  EXPECT_EQ(s.overflow, Overflow::kDropNewest);
  EXPECT_EQ(s.mode, StoreMode::kSpill);
  EXPECT_EQ(s.spill_after, seconds{2});
  EXPECT_EQ(s.spill_memory, 512u * 1024);
  EXPECT_EQ(s.pos.line, 6);

  ASSERT_TRUE(c.has_mqtt);
  const MqttConfig& m = c.mqtt;
  EXPECT_EQ(m.broker, "mqtts://broker.example:8884");  // ${...} substituted
  EXPECT_TRUE(m.tls_enabled);
  EXPECT_EQ(m.client_id, "a-client-id-longer-than-23-bytes");
  EXPECT_EQ(m.protocol, 5);
  EXPECT_EQ(m.keepalive, seconds{45});
  EXPECT_FALSE(m.clean_session);
  EXPECT_EQ(m.connect_timeout, seconds{3});
  EXPECT_EQ(m.username, "gateway");
  EXPECT_EQ(m.password_file, "/etc/fieldgate/mqtt-password");
  EXPECT_EQ(m.password_credential, "broker-pass");
  EXPECT_EQ(m.tls.ca_file, "/etc/ssl/broker-ca.pem");
  EXPECT_EQ(m.tls.cert_file, "/etc/fieldgate/client.crt");
  EXPECT_EQ(m.tls.key_file, "/etc/fieldgate/client.key");
  EXPECT_FALSE(m.tls.verify_hostname);
  EXPECT_EQ(m.max_inflight, 20);
  EXPECT_EQ(m.max_inflight_qos2, 10);
  EXPECT_EQ(m.reconnect_min, milliseconds{500});
  EXPECT_EQ(m.reconnect_max, minutes{2});
  EXPECT_EQ(m.drain_timeout, milliseconds{0});
  EXPECT_EQ(m.topic, "{site}/{gateway}/{device}/{point}/{unit}");
  EXPECT_EQ(m.device_topic, "{site}/{device}");
  EXPECT_EQ(m.status_topic, "{site}/{gateway}/state");
  EXPECT_EQ(m.status_interval, seconds{15});
  EXPECT_EQ(m.qos, 2);
  EXPECT_TRUE(m.retain);
  EXPECT_EQ(m.payload, (PayloadFormat{"value", false}));
  EXPECT_EQ(m.pos.line, 19);
}

TEST(ConfigUplinkTest, WithoutStoreOrMqttEverythingIsDefault) {
  const Config c = load(kDevice);
  EXPECT_FALSE(c.has_mqtt);  // check and poll need no uplink
  EXPECT_EQ(c.gateway.site, "");

  const StoreConfig& s = c.store;
  EXPECT_EQ(s.path, "/var/lib/fieldgate/queue.db");
  EXPECT_EQ(s.durability, Durability::kNormal);
  EXPECT_EQ(s.commit_interval, seconds{1});
  EXPECT_EQ(s.commit_batch, 1000);
  EXPECT_EQ(s.max_bytes, 256ULL * 1024 * 1024);
  EXPECT_EQ(s.max_rows, 10'000'000u);
  EXPECT_EQ(s.max_age, hours{7 * 24});
  EXPECT_EQ(s.overflow, Overflow::kDropOldest);
  EXPECT_EQ(s.mode, StoreMode::kDisk);
  EXPECT_EQ(s.spill_after, seconds{5});
  EXPECT_EQ(s.spill_memory, 4u * 1024 * 1024);

  const MqttConfig& m = c.mqtt;
  EXPECT_EQ(m.broker, "tcp://localhost:1883");
  EXPECT_FALSE(m.tls_enabled);
  EXPECT_EQ(m.client_id, "");
  EXPECT_EQ(m.protocol, 4);
  EXPECT_EQ(m.keepalive, seconds{30});
  EXPECT_TRUE(m.clean_session);
  EXPECT_EQ(m.connect_timeout, seconds{10});
  EXPECT_EQ(m.username, "");
  EXPECT_EQ(m.password_file, "");
  EXPECT_EQ(m.password_credential, "mqtt-password");
  EXPECT_EQ(m.tls.ca_file, "");
  EXPECT_EQ(m.tls.cert_file, "");
  EXPECT_EQ(m.tls.key_file, "");
  EXPECT_TRUE(m.tls.verify_hostname);
  EXPECT_EQ(m.max_inflight, 1000);
  EXPECT_EQ(m.max_inflight_qos2, 20);
  EXPECT_EQ(m.reconnect_min, seconds{1});
  EXPECT_EQ(m.reconnect_max, minutes{1});
  EXPECT_EQ(m.drain_timeout, seconds{5});
  EXPECT_EQ(m.topic, "fieldgate/{gateway}/{device}/{point}");
  EXPECT_EQ(m.device_topic, "fieldgate/{gateway}/{device}");
  EXPECT_EQ(m.status_topic, "fieldgate/{gateway}/status");
  EXPECT_EQ(m.availability_topic, "fieldgate/{gateway}/{device}/availability");
  EXPECT_EQ(m.status_interval, minutes{1});
  EXPECT_EQ(m.qos, 1);
  EXPECT_FALSE(m.retain);
  EXPECT_EQ(m.payload, (PayloadFormat{"json", false}));

  const DeviceConfig& d = c.devices.at(0);
  EXPECT_EQ(d.offline_after, 3);
  EXPECT_EQ(d.topic, std::nullopt);
  EXPECT_EQ(d.device_topic, std::nullopt);
  EXPECT_EQ(d.qos, std::nullopt);
  EXPECT_EQ(d.retain, std::nullopt);
  EXPECT_EQ(d.payload, std::nullopt);
  const PointConfig& p = d.points.at(0);
  EXPECT_EQ(p.topic, std::nullopt);
  EXPECT_EQ(p.qos, std::nullopt);
  EXPECT_EQ(p.retain, std::nullopt);
}

TEST(ConfigUplinkTest, AnEmptyMqttTableMeansTheUplinkWithDefaults) {
  const Config c = load(std::string("[mqtt]\n[store]\n") + kDevice);
  EXPECT_TRUE(c.has_mqtt);
  EXPECT_EQ(c.mqtt.broker, "tcp://localhost:1883");
  EXPECT_EQ(c.mqtt.qos, 1);
  EXPECT_EQ(c.store.max_bytes, 256ULL * 1024 * 1024);
}

TEST(ConfigUplinkTest, TheBrokerSchemeDecidesTls) {
  for (const auto& [broker, tls] :
       {std::pair{"tcp://10.0.0.5:1883", false}, std::pair{"mqtt://broker", false},
        std::pair{"ssl://broker:8883", true}, std::pair{"mqtts://[2001:db8::1]:8883", true}}) {
    SCOPED_TRACE(broker);
    const Config c = load(std::string("[mqtt]\nbroker = \"") + broker + "\"\n" + kDevice);
    EXPECT_EQ(c.mqtt.broker, broker);
    EXPECT_EQ(c.mqtt.tls_enabled, tls);
  }
  // A TLS broker needs no [mqtt.tls] table: the system's CAs, hostname checked.
  const Config c = load(std::string("[mqtt]\nbroker = \"ssl://b\"\n[mqtt.tls]\n") + kDevice);
  EXPECT_TRUE(c.mqtt.tls_enabled);
  EXPECT_TRUE(c.mqtt.tls.verify_hostname);
  EXPECT_EQ(c.mqtt.tls.ca_file, "");
}

TEST(ConfigUplinkTest, ProtocolAndKeepalive) {
  const Config v311 =
      load(std::string("[mqtt]\nprotocol = \"3.1.1\"\nkeepalive = \"0s\"\n") + kDevice);
  EXPECT_EQ(v311.mqtt.protocol, 4);
  EXPECT_EQ(v311.mqtt.keepalive, seconds{0});  // off
  EXPECT_EQ(load(std::string("[mqtt]\nkeepalive = \"65535s\"\n") + kDevice).mqtt.keepalive,
            seconds{65535});

  EXPECT_EQ(errors_of(std::string("[mqtt]\nprotocol = 5\nkeepalive = \"1.5s\"\n") + kDevice),
            "t.toml:2:12: mqtt.protocol: expected one of 3.1.1, 5; got integer 5 (write \"5\", "
            "in quotes)\n"
            "t.toml:3:13: mqtt.keepalive: expected \"0s\" (off) or whole seconds from \"1s\" to "
            "\"65535s\", got \"1.5s\"");
  EXPECT_EQ(errors_of(std::string("[mqtt]\nprotocol = 4\nkeepalive = \"1d\"\n") + kDevice),
            "t.toml:2:12: mqtt.protocol: expected one of 3.1.1, 5; got integer 4 (protocol level "
            "4 is MQTT 3.1.1: write \"3.1.1\", in quotes)\n"
            "t.toml:3:13: mqtt.keepalive: expected \"0s\" (off) or whole seconds from \"1s\" to "
            "\"65535s\", got \"1d\"");
  EXPECT_EQ(errors_of(std::string("[mqtt]\nprotocol = \"3.1\"\n") + kDevice),
            "t.toml:2:12: mqtt.protocol: expected one of 3.1.1, 5; got \"3.1\"");
}

TEST(ConfigUplinkTest, ClientLibrary) {
  EXPECT_EQ(load(kDevice).mqtt.client, MqttClientLibrary::kPaho);  // no [mqtt] at all
  EXPECT_EQ(load(std::string("[mqtt]\n") + kDevice).mqtt.client, MqttClientLibrary::kPaho);
  EXPECT_EQ(load(std::string("[mqtt]\nclient = \"paho\"\n") + kDevice).mqtt.client,
            MqttClientLibrary::kPaho);
  EXPECT_EQ(load(std::string("[mqtt]\nclient = \"mosquitto\"\n") + kDevice).mqtt.client,
            MqttClientLibrary::kMosquitto);

  EXPECT_EQ(errors_of(std::string("[mqtt]\nclient = \"libmosquitto\"\n") + kDevice),
            "t.toml:2:10: mqtt.client: expected one of paho, mosquitto; got \"libmosquitto\"");
  EXPECT_EQ(errors_of(std::string("[mqtt]\nclient = \"Mosquitto\"\n") + kDevice),
            "t.toml:2:10: mqtt.client: expected one of paho, mosquitto; got \"Mosquitto\" (did "
            "you mean \"mosquitto\"?)");
  EXPECT_EQ(errors_of(std::string("[mqtt]\nclient = 1\n") + kDevice),
            "t.toml:2:10: mqtt.client: expected one of paho, mosquitto; got integer 1");
}

TEST(ConfigUplinkTest, CredentialsAreFilesNeverValues) {
  // MQTT 3.1.1 sends a password only with a user name; MQTT 5 may send it alone.
  EXPECT_EQ(errors_of(std::string("[mqtt]\npassword_file = \"/run/pw\"\n") + kDevice),
            "t.toml:2:17: mqtt.password_file: needs username as well (MQTT 3.1.1 sends a password "
            "only with a user name)");
  EXPECT_EQ(load(std::string("[mqtt]\nprotocol = \"5\"\npassword_file = \"/run/pw\"\n") + kDevice)
                .mqtt.password_file,
            "/run/pw");
  EXPECT_EQ(errors_of(std::string("[mqtt]\npassword_credential = \"../etc/pw\"\n") + kDevice),
            "t.toml:2:23: mqtt.password_credential: expected a credential name (a file name "
            "without \"/\"), got \"../etc/pw\"");
  // The secret itself is never echoed, and the message names the credential in use.
  const std::string errors = errors_of(std::string("[mqtt]\npassword_credential = \"mqtt-pw\"\n"
                                                   "password = \"hunter2\"\n") +
                                       kDevice);
  EXPECT_EQ(errors,
            "t.toml:3:12: mqtt.password: not allowed: a secret does not belong in the "
            "configuration file (use password_file, or the systemd credential \"mqtt-pw\")");
  EXPECT_EQ(errors.find("hunter2"), std::string::npos);
}

TEST(ConfigUplinkTest, StoreBounds) {
  EXPECT_EQ(load(std::string("[store]\nmax_bytes = \"1MiB\"\nmax_rows = 1\n"
                             "commit_interval = \"1h\"\ncommit_batch = 1000000\n") +
                 kDevice)
                .store.max_bytes,
            1024u * 1024);
  EXPECT_EQ(errors_of(std::string("[store]\npath = \"\"\ncommit_interval = \"61m\"\n"
                                  "commit_batch = 0\nmax_bytes = 268435456\nmax_rows = 0\n"
                                  "max_age = \"0s\"\ndurability = \"Full\"\n") +
                      kDevice),
            "t.toml:2:8: store.path: expected a non-empty string, got \"\"\n"
            "t.toml:3:19: store.commit_interval: expected a duration from \"1ms\" to \"1h\", "
            "got \"61m\"\n"
            "t.toml:4:16: store.commit_batch: expected an integer 1..1000000, got 0\n"
            "t.toml:5:13: store.max_bytes: expected a size such as \"64MiB\" or \"1GiB\", got "
            "integer 268435456 (add a unit, in quotes: \"268435456B\")\n"
            "t.toml:6:12: store.max_rows: expected an integer 1..1000000000, got 0\n"
            "t.toml:7:11: store.max_age: expected a duration from \"1ms\" to \"3650d\", got "
            "\"0s\"\n"
            "t.toml:8:14: store.durability: expected one of normal, full; got \"Full\" (did you "
            "mean \"full\"?)");
}

TEST(ConfigUplinkTest, DeviceAndPointOverridesAreLoaded) {
  const Config c = load(R"toml(
[mqtt]
payload = "device-json"

[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
payload = "json"
topic = "meters/{device}/{point}"
device_topic = "meters/{device}/all"
qos = 0
retain = true
  [[devices.points]]
  name = "energy"
  kind = "holding"
  address = 0
  topic = "billing/{device}/{point}"
  qos = 2
  retain = false

[[devices]]
name = "door"
driver = "modbus-tcp"
host = "h"
points = [{ name = "open", kind = "coil", address = 0 }]
)toml");
  const DeviceConfig& meter = c.devices.at(0);
  EXPECT_EQ(meter.payload, (PayloadFormat{"json", false}));
  EXPECT_EQ(meter.topic, "meters/{device}/{point}");
  EXPECT_EQ(meter.device_topic, "meters/{device}/all");
  EXPECT_EQ(meter.qos, 0);
  EXPECT_EQ(meter.retain, true);
  const PointConfig& energy = meter.points.at(0);
  EXPECT_EQ(energy.topic, "billing/{device}/{point}");
  EXPECT_EQ(energy.qos, 2);
  EXPECT_EQ(energy.retain, false);
  // The second device inherits device-json from [mqtt]; no per-point keys there.
  EXPECT_EQ(c.devices.at(1).payload, std::nullopt);
  EXPECT_EQ(c.mqtt.payload, (PayloadFormat{"device-json", true}));
}

TEST(ConfigUplinkTest, DeviceJsonForbidsPerPointRetainToo) {
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "d"
driver = "modbus-tcp"
host = "h"
payload = "device-json"
points = [{ name = "p", kind = "coil", address = 0, retain = true }]
)toml"),
            "t.toml:7:62: devices[0].points[0].retain: not allowed with payload \"device-json\" "
            "(devices[0].payload): the device publishes one message per poll with all its points, "
            "so a per-point retain cannot apply");
}

TEST(ConfigUplinkTest, EveryExpandedTopicIsUnique) {
  // A device named "status" under the default templates would publish its
  // device-json message on the retained status topic.
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "status"
driver = "modbus-tcp"
host = "h"
payload = "device-json"
points = [{ name = "p", kind = "coil", address = 0 }]
)toml"),
            "t.toml:3:8: devices[0].name: the status topic and devices[0] (status) both publish "
            "to \"fieldgate/fieldgate/status\"");
  // Units are part of the topic only where the template says so; "m/s"
  // becomes "m_s" exactly as the bridge will publish it.
  EXPECT_EQ(errors_of(R"toml(
[mqtt]
topic = "{device}/{unit}"
[[devices]]
name = "d"
driver = "modbus-tcp"
host = "h"
  [[devices.points]]
  name = "speed"
  kind = "input"
  address = 0
  unit = "m/s"
  [[devices.points]]
  name = "speed2"
  kind = "input"
  address = 1
  unit = "m_s"
)toml"),
            "t.toml:3:9: mqtt.topic: devices[0].points[0] (d/speed) and devices[0].points[1] "
            "(d/speed2) both publish to \"d/m_s\" (the template \"{device}/{unit}\" has no "
            "{point})");
}

TEST(ConfigUplinkTest, AvailabilityTopicAndOfflineAfter) {
  const Config c = load(R"toml(
[mqtt]
availability_topic = "plant/{site}/{gateway}/{device}/alive"
[gateway]
name = "gw"
site = "north"
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
offline_after = 7
points = [{ name = "p", kind = "coil", address = 0 }]
)toml");
  EXPECT_EQ(c.mqtt.availability_topic, "plant/{site}/{gateway}/{device}/alive");
  EXPECT_EQ(c.devices.at(0).offline_after, 7);
  // A point is no part of a device's availability.
  EXPECT_EQ(errors_of("[mqtt]\navailability_topic = \"{device}/{point}\"\n" + std::string(kDevice)),
            "t.toml:2:22: mqtt.availability_topic: topic template \"{device}/{point}\" cannot "
            "use {point} here; use {gateway}, {site}, {device}");
  // A point named "availability" under the default templates would publish
  // its readings on the device's retained availability topic.
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "h"
points = [{ name = "availability", kind = "coil", address = 0 }]
)toml"),
            "t.toml:6:20: devices[0].points[0].name: devices[0] (meter)'s availability topic "
            "and devices[0].points[0] (meter/availability) both publish to "
            "\"fieldgate/fieldgate/meter/availability\"");
}

TEST(ConfigUplinkTest, AnEmptyPlaceholderMustNotLeaveAnEmptyLevel) {
  EXPECT_EQ(errors_of(std::string("[mqtt]\ntopic = \"{site}/{device}/{point}\"\n") + kDevice),
            "t.toml:2:9: mqtt.topic: devices[0].points[0] (meter/voltage) publishes to "
            "\"/meter/voltage\", which has an empty level ({site} is empty: set gateway.site)");
  EXPECT_EQ(errors_of(R"toml(
[[devices]]
name = "d"
driver = "modbus-tcp"
host = "h"
topic = "{device}/{point}/{unit}"
points = [{ name = "p", kind = "coil", address = 0 }]
)toml"),
            "t.toml:6:9: devices[0].topic: devices[0].points[0] (d/p) publishes to \"d/p/\", "
            "which has an empty level ({unit} is empty for this point)");
  // Inside a level, an empty value leaves no empty level.
  EXPECT_EQ(
      load(std::string("[mqtt]\ntopic = \"x{site}/{device}/{point}\"\n") + kDevice).mqtt.topic,
      "x{site}/{device}/{point}");
}

TEST(ConfigUplinkTest, EnumsAreSpelledAsInToml) {
  EXPECT_EQ(to_string(Durability::kNormal), "normal");
  EXPECT_EQ(to_string(Durability::kFull), "full");
  EXPECT_EQ(to_string(Overflow::kDropOldest), "drop_oldest");
  EXPECT_EQ(to_string(Overflow::kDropNewest), "drop_newest");
}

}  // namespace
}  // namespace fieldgate::config
