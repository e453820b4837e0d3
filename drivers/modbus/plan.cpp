// Request planning.
//
// Design notes. Within one (interval, kind) group the points are sorted by
// (address, length) and swept once: a request opens at the first point not yet
// covered and takes each following point while the request stays within the
// size limit and the point starts at most max_gap past the covered end.
//
// Why the sweep is minimal: call the first point of each request its starter.
// Requests' covered ends strictly increase (a starter was refused either
// because it ends beyond the previous request's limit, or because it starts
// more than max_gap past its covered end). So for two starters S_i < S_j,
// either S_j ends too far from S_i for any request holding both, or every
// point that starts before S_j ends at or before the covered end E of
// request j-1 while S_j starts more than max_gap past E: any request holding
// both would read a hole wider than max_gap. No two starters fit one request,
// so every plan needs at least as many requests as starters. plan_test checks
// this against a brute force over all partitions.
#include "drivers/modbus/plan.hpp"

#include "config/units.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace fieldgate::modbus {

namespace {

using config::DeviceConfig;
using config::PointConfig;

// Registers (or bits) one point occupies.
int point_length(const ModbusPointConfig& p) {
  if (is_bit_kind(p.kind)) return 1;
  return register_count(p.type, p.count);
}

}  // namespace

std::vector<ReadRequest> plan_requests(const DeviceConfig& device) {
  struct Item {
    config::Duration interval;
    RegisterKind kind;
    int address;
    int length;
    std::size_t index;
  };
  std::vector<Item> items;
  items.reserve(device.points.size());
  for (std::size_t i = 0; i < device.points.size(); ++i) {
    const PointConfig& p = device.points[i];
    const ModbusPointConfig& m = point_of(p);
    items.push_back({device.interval_of(p), m.kind, m.address, point_length(m), i});
  }
  // The index breaks ties so the plan never depends on std::sort's whims.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.interval, a.kind, a.address, a.length, a.index) <
           std::tie(b.interval, b.kind, b.address, b.length, b.index);
  });

  const ModbusDeviceConfig& settings = device_of(device);
  std::vector<ReadRequest> requests;
  int end = 0;  // one past the last address covered by requests.back()
  for (const Item& it : items) {
    const int limit = is_bit_kind(it.kind) ? settings.max_bits : settings.max_registers;
    if (!requests.empty() && !settings.single_point_reads) {
      ReadRequest& r = requests.back();
      const int new_end = std::max(end, it.address + it.length);
      if (r.interval == it.interval && r.kind == it.kind && new_end - r.start <= limit &&
          it.address - end <= settings.max_gap) {
        end = new_end;
        r.count = end - r.start;
        r.points.push_back(it.index);
        continue;
      }
    }
    requests.push_back({it.kind, it.address, it.length, it.interval, {it.index}});
    end = it.address + it.length;
  }
  return requests;
}

std::string describe(const ReadRequest& request, const DeviceConfig& device) {
  const bool bits = is_bit_kind(request.kind);
  std::string names;
  for (std::size_t i : request.points) {
    if (!names.empty()) names += ", ";
    names += i < device.points.size() ? device.points[i].name : fmt::format("#{}", i);
  }
  return fmt::format("{} {}..{} ({} {}{}) every {}: {}", to_string(request.kind), request.start,
                     request.start + request.count - 1, request.count, bits ? "bit" : "register",
                     request.count == 1 ? "" : "s", config::format_duration(request.interval),
                     names);
}

}  // namespace fieldgate::modbus
