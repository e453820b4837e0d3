// Request planning ("coalescing"): the fewest Modbus read requests that cover
// every point of a device, within the protocol's limits and the device's
// largest gap. `fieldgate check` prints the plan; the driver executes it.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/settings.hpp"

namespace fieldgate::modbus {

/// One read request: a contiguous range of one register kind, and the points
/// (indices into DeviceConfig::points) whose registers lie inside it.
struct ReadRequest {
  RegisterKind kind = RegisterKind::kHolding;
  int start = 0;  // first address
  int count = 0;  // registers or bits
  config::Duration interval{1000};
  std::vector<std::size_t> points;
};

/// Plans the requests for one device. Points are grouped by (interval, kind),
/// then merged greedily in address order while the request stays within
/// max_registers / max_bits and the hole between two points is at most max_gap;
/// with single_point_reads every point gets its own request. The result is
/// sorted by (interval, kind, start) and is minimal in the number of requests.
/// Assumes a validated config (every point fits the limits).
[[nodiscard]] std::vector<ReadRequest> plan_requests(const config::DeviceConfig& device);

/// "holding 0..17 (18 registers) every 1s: voltage_l1, voltage_l2, ..."
[[nodiscard]] std::string describe(const ReadRequest& request, const config::DeviceConfig& device);

}  // namespace fieldgate::modbus
