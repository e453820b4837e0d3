// The gateway's periodic status: per-device health, the buffer, the uplink.
// One JSON document for the stats topic and `fieldgate run`'s log line.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridge/forwarder.hpp"
#include "bridge/store.hpp"
#include "gateway/scheduler.hpp"

namespace fieldgate::gateway {

struct GatewayStatus {
  std::string gateway;
  std::chrono::seconds uptime{0};
  std::vector<DeviceStatus> devices;
  bridge::StoreStats queue;
  bridge::ForwarderStats uplink;
};

[[nodiscard]] nlohmann::json to_json(const GatewayStatus& status, std::int64_t now_ms);

/// "2/3 devices up (down: pump: timed out); queue 120 readings, 14 kB, oldest
/// 3s; uplink connected, 5012 delivered, 0 dropped"
[[nodiscard]] std::string summary_line(const GatewayStatus& status, std::int64_t now_ms);

}  // namespace fieldgate::gateway
