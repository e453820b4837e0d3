// Which MQTT client library the forwarder's session runs on. Paho is the
// only one today; another (libmosquitto, chosen by a future
// `[mqtt] client = "mosquitto"`) is its own file plus one line here.
#include "bridge/mqtt_client.hpp"
#include "bridge/paho_client.hpp"

namespace fieldgate::bridge::detail {

std::unique_ptr<MqttClient> make_mqtt_client(const config::MqttConfig& mqtt,
                                             const MqttConnectOptions& options,
                                             MqttCallbacks callbacks) {
  (void)mqtt;  // will carry the choice of client
  return make_paho_client(options, std::move(callbacks));
}

}  // namespace fieldgate::bridge::detail
