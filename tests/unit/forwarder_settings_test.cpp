// The forwarder's session settings: broker URI in Paho's spelling, password
// sources, TLS files, connect options, and that the password never shows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "bridge/command_channel.hpp"
#include "bridge/forwarder.hpp"
#include "bridge/mqtt_session.hpp"
#include "bridge/paho_client.hpp"
#include "bridge/payload_formats.hpp"
#include "bridge/status_hook.hpp"
#include "tests/support/fake_store.hpp"

namespace fieldgate::bridge::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("fieldgate-settings-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// Sets an environment variable for one test and restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

config::GatewayConfig gateway() {
  config::GatewayConfig g;
  g.name = "gw1";
  g.site = "plant";
  return g;
}

// Connect options as the forwarder builds them, in Paho's terms as the Paho
// client hands them over: the will is the status hook's.
mqtt::connect_options connect_options(const config::MqttConfig& m) {
  const auto s = make_session_settings(m, gateway());
  return paho_connect_options(make_connect_options(m, s, make_status_hook(s.status_topic)->will()));
}

TEST(SessionSettings, MapsMqttSchemesToWhatPahoAccepts) {
  config::MqttConfig m;
  m.broker = "mqtt://broker.example";
  auto s = make_session_settings(m, gateway());
  EXPECT_EQ(s.uri, "tcp://broker.example:1883");
  EXPECT_FALSE(s.tls);

  m.broker = "mqtts://broker.example";
  m.tls_enabled = true;
  s = make_session_settings(m, gateway());
  EXPECT_EQ(s.uri, "ssl://broker.example:8883");
  EXPECT_TRUE(s.tls);

  m.broker = "ssl://[::1]:18883";
  s = make_session_settings(m, gateway());
  EXPECT_EQ(s.uri, "ssl://[::1]:18883");
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.port, 18883);
}

TEST(SessionSettings, NeverFallsBackToPlainText) {
  config::MqttConfig m;
  m.broker = "tcp://broker.example:1883";
  m.tls_enabled = true;
  try {
    (void)make_session_settings(m, gateway());
    FAIL() << "TLS on a tcp:// address was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("plain-text address but TLS is enabled"));
  }
}

TEST(SessionSettings, ExpandsTheStatusTopicAndDefaultsTheClientId) {
  config::MqttConfig m;
  m.status_topic = "fg/{site}/{gateway}/status";
  const auto s = make_session_settings(m, gateway());
  EXPECT_EQ(s.status_topic, "fg/plant/gw1/status");
  EXPECT_EQ(s.client_id, "fieldgate-gw1");
  m.client_id = "custom";
  EXPECT_EQ(make_session_settings(m, gateway()).client_id, "custom");
}

TEST(Password, FirstLineOfThePasswordFileWithoutLineEnd) {
  TempDir dir;
  config::MqttConfig m;
  m.username = "user";
  m.password_file = dir.write("pw", "s3cret pass\r\nsecond line\n");
  std::string source;
  EXPECT_EQ(read_password(m, &source), "s3cret pass");
  EXPECT_EQ(source, m.password_file);
  m.password_file = dir.write("pw2", "only");
  EXPECT_EQ(read_password(m, nullptr), "only");
}

TEST(Password, UnreadablePasswordFileIsNamed) {
  config::MqttConfig m;
  m.username = "user";
  m.password_file = "/nonexistent/fieldgate/pw";
  try {
    (void)make_session_settings(m, gateway());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("mqtt.password_file: cannot read /nonexistent/fieldgate/pw"));
  }
  // The forwarder's constructor says the same.
  fieldgate::testing::FakeStore store;
  EXPECT_THROW(Forwarder(m, gateway(), store, TopicMap(config::Config{})), std::runtime_error);
}

TEST(Password, FromTheSystemdCredentialWhenNoFileIsSet) {
  TempDir dir;
  dir.write("mqtt-password", "from-systemd\n");
  const ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path());
  config::MqttConfig m;
  m.username = "user";
  std::string source;
  EXPECT_EQ(read_password(m, &source), "from-systemd");
  EXPECT_EQ(source, dir.path() + "/mqtt-password");
  m.password_credential = "absent";
  EXPECT_EQ(read_password(m, nullptr), std::nullopt);
}

TEST(Password, AnEmptyCredentialIsNoPassword) {
  // The packaged unit's SetCredential= default when /etc/fieldgate/mqtt-password
  // does not exist: an anonymous broker must still work, with no user name.
  TempDir dir;
  dir.write("mqtt-password", "\n");
  const ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path());
  config::MqttConfig m;
  EXPECT_EQ(read_password(m, nullptr), std::nullopt);
  EXPECT_FALSE(make_session_settings(m, gateway()).password.has_value());
}

TEST(Password, NoneWithoutFileOrCredential) {
  const ScopedEnv env("CREDENTIALS_DIRECTORY", "");
  config::MqttConfig m;
  EXPECT_EQ(read_password(m, nullptr), std::nullopt);
  EXPECT_FALSE(make_session_settings(m, gateway()).password.has_value());
}

TEST(Password, NeedsAUsername) {
  TempDir dir;
  config::MqttConfig m;
  m.password_file = dir.write("pw", "x\n");
  EXPECT_THROW((void)make_session_settings(m, gateway()), std::runtime_error);
}

TEST(SessionSettings, UnreadableTlsFilesAreNamed) {
  config::MqttConfig m;
  m.broker = "mqtts://localhost";
  m.tls_enabled = true;
  m.tls.ca_file = "/nonexistent/ca.pem";
  try {
    (void)make_session_settings(m, gateway());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("mqtt.tls.ca_file: cannot read /nonexistent/ca.pem"));
  }
}

TEST(ConnectOptions, Mqtt311WithWillCredentialsAndWindow) {
  TempDir dir;
  config::MqttConfig m;
  m.username = "user";
  m.password_file = dir.write("pw", "hunter2\n");
  m.keepalive = std::chrono::milliseconds(1500);
  m.connect_timeout = std::chrono::milliseconds(7000);
  m.clean_session = false;
  m.max_inflight = 500;
  const auto s = make_session_settings(m, gateway());
  const auto o =
      paho_connect_options(make_connect_options(m, s, make_status_hook(s.status_topic)->will()));
  EXPECT_EQ(o.get_mqtt_version(), MQTTVERSION_3_1_1);
  EXPECT_FALSE(o.is_clean_session());
  EXPECT_EQ(o.get_keep_alive_interval().count(), 2);
  EXPECT_EQ(o.get_connect_timeout().count(), 7);
  EXPECT_FALSE(o.get_automatic_reconnect());
  EXPECT_GE(o.get_max_inflight(), 500);
  EXPECT_EQ(o.get_user_name(), "user");
  EXPECT_EQ(o.get_password_str(), "hunter2");
  EXPECT_EQ(o.get_will_topic(), "fieldgate/gw1/status");
  ASSERT_TRUE(o.get_will_message());
  EXPECT_EQ(o.get_will_message()->to_string(), "offline");
  EXPECT_EQ(o.get_will_message()->get_qos(), 1);
  EXPECT_TRUE(o.get_will_message()->is_retained());
}

TEST(ForwarderParts, AFormatWithoutAnEncoderIsAStartUpError) {
  config::Config c;
  c.gateway = gateway();
  config::DeviceConfig panel;
  panel.name = "panel";
  panel.payload = config::PayloadFormat{"device-json", true};
  c.devices.push_back(panel);
  fieldgate::testing::FakeStore store;
  ForwarderParts parts{EncoderRegistry{}, {}};  // "json" alone
  parts.encoders.add("json", make_json_encoder());
  try {
    Forwarder fw(c.mqtt, c.gateway, store, TopicMap(c), std::move(parts));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no encoder for payload format \"device-json\""));
  }
  // The defaults have every format the configuration can name.
  EXPECT_NO_THROW(Forwarder(c.mqtt, c.gateway, store, TopicMap(c)));
}

TEST(ForwarderParts, AFormatLoadedWithAnotherGroupingThanItsEncoderIsAStartUpError) {
  config::Config c;
  c.gateway = gateway();
  c.mqtt.payload = config::PayloadFormat{"value", true};  // as if loaded from other encoders
  fieldgate::testing::FakeStore store;
  try {
    Forwarder fw(c.mqtt, c.gateway, store, TopicMap(c));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("payload format \"value\" was loaded as one message per "
                                    "device poll, its encoder sends one per reading"));
  }
}

TEST(ConnectOptions, Mqtt5UsesCleanStart) {
  config::MqttConfig m;
  m.protocol = 5;
  m.clean_session = true;
  auto o = connect_options(m);
  EXPECT_EQ(o.get_mqtt_version(), MQTTVERSION_5);
  EXPECT_TRUE(o.is_clean_start());
  EXPECT_FALSE(o.is_clean_session());
  m.clean_session = false;
  o = connect_options(m);
  EXPECT_FALSE(o.is_clean_start());
  EXPECT_TRUE(o.get_properties().contains(mqtt::property::SESSION_EXPIRY_INTERVAL));
  // The largest packet the gateway accepts: commands far past command_max_size
  // are not even delivered.
  EXPECT_EQ(mqtt::get<int>(o.get_properties(), mqtt::property::MAXIMUM_PACKET_SIZE), 1024 * 1024);
  m.command_max_size = 1024 * 1024;
  o = connect_options(m);
  EXPECT_EQ(mqtt::get<int>(o.get_properties(), mqtt::property::MAXIMUM_PACKET_SIZE),
            4 * 1024 * 1024);
}

TEST(ConnectOptions, PahoLeavesRoomForResultsAboveTheReadingsWindow) {
  // Found in issue 14: results took Paho's room, Paho refused a reading
  // (rc -12) and the session was torn down.
  config::MqttConfig m;
  m.max_inflight = 500;
  EXPECT_GE(paho_queue_limit(m), 500 + kResultsInflight + 1);
  const auto o = connect_options(m);
  EXPECT_EQ(o.get_max_inflight(), paho_queue_limit(m));
}

TEST(ConnectOptions, TlsVerifiesTheServer) {
  TempDir dir;
  config::MqttConfig m;
  m.broker = "mqtts://localhost:8883";
  m.tls_enabled = true;
  m.tls.ca_file = dir.write("ca.pem", "x");
  m.tls.cert_file = dir.write("cert.pem", "x");
  m.tls.key_file = dir.write("key.pem", "x");
  auto o = connect_options(m);
  const auto& ssl = o.get_ssl_options();
  EXPECT_EQ(ssl.get_trust_store(), m.tls.ca_file);
  EXPECT_EQ(ssl.get_key_store(), m.tls.cert_file);
  EXPECT_EQ(ssl.get_private_key(), m.tls.key_file);
  EXPECT_TRUE(ssl.get_enable_server_cert_auth());
  EXPECT_TRUE(ssl.get_verify());
  m.tls.verify_hostname = false;
  o = connect_options(m);
  EXPECT_TRUE(o.get_ssl_options().get_enable_server_cert_auth());  // the chain still is
  EXPECT_FALSE(o.get_ssl_options().get_verify());
}

TEST(DescribeSession, MasksThePassword) {
  TempDir dir;
  config::MqttConfig m;
  m.username = "user";
  m.password_file = dir.write("pw", "hunter2\n");
  const std::string text = describe_session(m, make_session_settings(m, gateway()));
  EXPECT_THAT(text, Not(HasSubstr("hunter2")));
  EXPECT_THAT(text, HasSubstr("password ***"));
  EXPECT_THAT(text, HasSubstr("user user"));
  EXPECT_THAT(text, HasSubstr("client paho"));
  m.client = config::MqttClientLibrary::kMosquitto;
  EXPECT_THAT(describe_session(m, make_session_settings(m, gateway())),
              HasSubstr("client mosquitto"));
}

TEST(ToSeconds, RoundsUpWithAFloor) {
  EXPECT_EQ(to_seconds(std::chrono::milliseconds(0), 0), 0);
  EXPECT_EQ(to_seconds(std::chrono::milliseconds(0), 1), 1);
  EXPECT_EQ(to_seconds(std::chrono::milliseconds(1001), 0), 2);
  EXPECT_EQ(to_seconds(std::chrono::milliseconds(30000), 0), 30);
}

}  // namespace
}  // namespace fieldgate::bridge::detail
