// The gateway's periodic status: per-device health, the buffer, the uplink.
// One JSON document for the stats topic and `fieldgate run`'s log line.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridge/forwarder.hpp"
#include "bridge/store.hpp"
#include "gateway/modbus_server.hpp"
#include "gateway/scheduler.hpp"

namespace fieldgate::gateway {

struct GatewayStatus {
  std::string gateway;
  std::chrono::seconds uptime{0};
  std::vector<DeviceStatus> devices;
  bridge::StoreStats queue;
  bridge::ForwarderStats uplink;
  std::optional<ModbusServerStats> modbus_server;  // when [modbus_server] is configured
};

[[nodiscard]] nlohmann::json to_json(const GatewayStatus& status, std::int64_t now_ms);

/// The periodic line (log and systemd STATUS=): "2/3 devices up (down: pump:
/// timed out); 120 readings waiting in the buffer (14 kB, oldest 3s); uplink
/// connected, 5012 delivered since start, 40 in flight unconfirmed; 0 dropped
/// since the buffer was created"
[[nodiscard]] std::string summary_line(const GatewayStatus& status, std::int64_t now_ms);

/// The last line before `run` exits, once the uplink is closed: "at stop: 1/1
/// devices up; 5012 delivered since start; 6 readings not yet delivered stay
/// in the buffer (0 kB, oldest 0s) for the next start; 0 dropped since the
/// buffer was created"
[[nodiscard]] std::string stop_line(const GatewayStatus& status, std::int64_t now_ms);

}  // namespace fieldgate::gateway
