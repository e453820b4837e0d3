// Private to bridge/: the MQTT client seam (mqtt_client.hpp) on libmosquitto
// 2.0 (Eclipse Mosquitto's client library, Debian's libmosquitto1), chosen by
// `[mqtt] client = "mosquitto"`. Everything that knows libmosquitto's types
// lives in mosquitto_client.cpp.
#pragma once

#include <memory>

#include "bridge/mqtt_client.hpp"

namespace fieldgate::bridge::detail {

/// The seam's libmosquitto implementation: one mosquitto handle, one network
/// thread of its own that never reconnects by itself. Throws
/// std::runtime_error when libmosquitto cannot make a handle.
[[nodiscard]] std::unique_ptr<MqttClient> make_mosquitto_client(const MqttConnectOptions& options,
                                                                MqttCallbacks callbacks);

}  // namespace fieldgate::bridge::detail
