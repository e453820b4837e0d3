// run_config: what `fieldgate run` applies of its command line to the
// configuration, and which changes a reload (SIGHUP) leaves for a restart.
#include "gateway/run_config.hpp"

#include <gtest/gtest.h>

namespace fieldgate::gateway {
namespace {

TEST(RunConfigTest, BrokerOverrideSetsTheUriTlsAndTheMqttTable) {
  config::Config c;
  c.has_mqtt = false;
  apply_broker_override(c, "");
  EXPECT_FALSE(c.has_mqtt);  // no --broker: nothing changes
  apply_broker_override(c, "ssl://broker.example:8883");
  EXPECT_TRUE(c.has_mqtt);
  EXPECT_EQ(c.mqtt.broker, "ssl://broker.example:8883");
  EXPECT_TRUE(c.mqtt.tls_enabled);
  apply_broker_override(c, "tcp://127.0.0.1:1883");
  EXPECT_FALSE(c.mqtt.tls_enabled);
}

TEST(RunConfigTest, OnlyStoreAndConnectionChangesWaitForARestart) {
  const config::Config running;
  config::Config fresh = running;
  EXPECT_TRUE(restart_only_changes(running, fresh).empty());

  fresh.mqtt.status_interval = running.mqtt.status_interval * 2;  // live: no restart
  EXPECT_TRUE(restart_only_changes(running, fresh).empty());

  fresh.store.max_rows = running.store.max_rows + 1;
  fresh.mqtt.broker = "tcp://elsewhere:1883";
  const auto changed = restart_only_changes(running, fresh);
  ASSERT_EQ(changed.size(), 2U);
  EXPECT_EQ(changed[0], "[store]");
  EXPECT_EQ(changed[1],
            "the MQTT connection ([mqtt] broker, identity, TLS, status topic, max_payload)");
}

}  // namespace
}  // namespace fieldgate::gateway
