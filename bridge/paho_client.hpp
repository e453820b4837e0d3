// Private to bridge/: the MQTT client seam (mqtt_client.hpp) on Eclipse Paho
// C++ (async client, over Paho C's MQTTAsync). Everything that knows Paho's
// types lives in paho_client.cpp; this header is for the factory, the unit
// tests of the connect options, and the bench's bare-Paho baseline.
#pragma once

#include <mqtt/async_client.h>

#include <memory>
#include <string>

#include "bridge/mqtt_client.hpp"

namespace fieldgate::bridge::detail {

/// The seam's Paho implementation. Throws std::runtime_error when Paho
/// rejects the address.
[[nodiscard]] std::unique_ptr<MqttClient> make_paho_client(const MqttConnectOptions& options,
                                                           MqttCallbacks callbacks);

/// A bare Paho client as the seam's implementation makes it: no persistence,
/// no sending while disconnected, its queue limit at options.max_inflight.
/// Throws std::runtime_error.
[[nodiscard]] std::unique_ptr<mqtt::async_client> make_paho_async_client(
    const MqttConnectOptions& options);

/// Paho connect options for `options`: protocol level, clean session (or
/// clean start with MQTT 5), keepalive, timeout, credentials, TLS, the will,
/// Paho's in-flight limit, and with MQTT 5 the Session Expiry and Maximum
/// Packet Size properties.
[[nodiscard]] mqtt::connect_options paho_connect_options(const MqttConnectOptions& options);

/// Points `options`' C struct at its own connect properties. Paho C++ 1.2.0
/// (Debian bookworm) copies and moves connect_options without doing so
/// (fixed upstream in 1.3.0, eclipse/paho.mqtt.cpp#426): a copy sends the
/// properties of the object it came from, freed by then — the MQTT 5
/// Session Expiry and Maximum Packet Size were not sent. Call on the
/// connect_options in its final place, before connecting with it.
void bind_connect_properties(mqtt::connect_options& options);

/// Why a connect failed, in words: CONNACK codes ("not authorized: bad user
/// name or password"), MQTT 5 reason codes, else Paho's message. A
/// "TCP/TLS connect failure" is refined by probing the broker (refused,
/// unreachable, certificate verify failed: …).
[[nodiscard]] std::string describe_connect_failure(const mqtt::exception& e,
                                                   const MqttConnectOptions& options);

}  // namespace fieldgate::bridge::detail
