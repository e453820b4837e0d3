// Which MQTT client library the forwarder's session runs on:
// `[mqtt] client = "paho"` (the default) or "mosquitto".
#include "bridge/mosquitto_client.hpp"
#include "bridge/mqtt_client.hpp"
#include "bridge/paho_client.hpp"

namespace fieldgate::bridge::detail {

std::unique_ptr<MqttClient> make_mqtt_client(const config::MqttConfig& mqtt,
                                             const MqttConnectOptions& options,
                                             MqttCallbacks callbacks) {
  if (mqtt.client == config::MqttClientLibrary::kMosquitto) {
    return make_mosquitto_client(options, std::move(callbacks));
  }
  return make_paho_client(options, std::move(callbacks));
}

}  // namespace fieldgate::bridge::detail
