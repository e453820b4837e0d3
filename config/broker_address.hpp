// The MQTT broker address of [mqtt] broker: "tcp://host:1883", "ssl://[::1]".
// A plain function without exceptions, so the loader can collect every
// problem and the bridge can read the parts (TLS or not, default port).
#pragma once

#include <string>
#include <string_view>

#include "config/units.hpp"

namespace fieldgate::config {

struct BrokerAddress {
  std::string scheme;  // "tcp", "mqtt", "ssl" or "mqtts"
  std::string host;    // a name or an address; an IPv6 address without its brackets
  int port = 0;        // as written, or 1883 (8883 with TLS) when absent
  bool tls = false;    // ssl:// or mqtts://
};

/// "<scheme>://<host>[:<port>]" with scheme tcp, mqtt (plain) or ssl, mqtts
/// (TLS); an IPv6 host in brackets. No user name or password, no path.
[[nodiscard]] Parsed<BrokerAddress> parse_broker_address(std::string_view text);

}  // namespace fieldgate::config
