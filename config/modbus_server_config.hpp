// [modbus_server]: fieldgate as a Modbus TCP server, answering other masters
// (SCADA, energy managers) from the registers it polls (docs/MODBUS_SERVER.md).
// Plain data, read by loader_modbus_server.cpp; the addresses are parsed at
// load (config/net_address.hpp) so the server never parses text.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/net_address.hpp"

namespace fieldgate::config {

/// A served unit id and the configured device that answers for it.
struct ServedUnit {
  std::string device;
  int unit_id = 0;
};

struct ModbusServerConfig {
  /// Where the server listens: an IP literal and a port ("[::1]:1502" for IPv6).
  /// Port 502 needs CAP_NET_BIND_SERVICE (docs/MODBUS_SERVER.md).
  std::string listen = "127.0.0.1:1502";
  IpAddress listen_address = IpAddress::loopback_v4();
  int listen_port = 1502;
  int max_clients = 16;                           // more connections are closed at once (counted)
  std::chrono::milliseconds idle_timeout{60000};  // a client silent this long is closed
  /// Client addresses or networks ("192.168.1.0/24") allowed to connect.
  /// Empty: loopback only, which the loader allows only when `listen` is loopback.
  std::vector<IpNetwork> allow;
  /// Explicit unit ids (`[modbus_server.units] meter = 7`); a device on a
  /// serial bus not listed answers for its own unit id, a TCP device only
  /// when listed (two TCP devices often share unit id 1).
  std::vector<ServedUnit> units;
  /// A cached value older than this is not served (exception 0x02);
  /// nullopt: twice the poll interval of the registers' request group.
  std::optional<std::chrono::milliseconds> max_age;
  /// Reads of unpolled or stale registers passed to the device, queued on
  /// its bus worker like a write (exception 0x0B when it does not answer).
  bool passthrough = false;
  /// A passed-through read still waiting for the bus after this is not sent
  /// (exception 0x0B); once sent, the device's response_timeout bounds it.
  std::chrono::milliseconds passthrough_timeout{2000};
};

}  // namespace fieldgate::config
