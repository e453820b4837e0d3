// Fuzz target: Modbus request planning (drivers/modbus/plan.*) on random
// point maps within what the loader accepts (addresses 0..65535 with the
// value inside the table, string counts 1..125, max_registers 1..125,
// max_bits 1..2000, max_gap 0..125).
//
// Input:
//   0  max_gap (% 126)   1 max_registers (% 125 + 1)   2-3 max_bits (% 2000 + 1)
//   4  bit 0: single_point_reads
//   then per point, 6 bytes: kind (% 4), type (% 11), address (2 bytes),
//      string count (% 125 + 1), interval (% 3: none, 1s, 250ms)
//
// Checks: every point is in exactly one request, inside its range, of its
// kind and interval; no request exceeds the device's limits; requests are
// sorted by (interval, kind, start); single_point_reads gives one request
// per point.
#include <cstdint>
#include <tuple>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/plan.hpp"
#include "drivers/modbus/settings.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace fieldgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  config::DeviceConfig device;
  device.name = "fuzz";
  device.driver = "modbus-tcp";
  modbus::ModbusDeviceConfig& settings = modbus::edit_device_of(device);
  settings.max_gap = in.byte() % 126;
  settings.max_registers = 1 + in.byte() % 125;
  settings.max_bits = 1 + in.u16() % 2000;
  settings.single_point_reads = (in.byte() & 1) != 0;
  while (device.points.size() < 300 && in.remaining() >= 6) {
    config::PointConfig p;
    p.name = "p" + std::to_string(device.points.size());
    modbus::ModbusPointConfig& m = modbus::edit_point_of(p);
    m.kind = static_cast<modbus::RegisterKind>(in.byte() % 4);
    const bool bits = modbus::is_bit_kind(m.kind);
    m.type = bits ? modbus::ValueType::kBool : static_cast<modbus::ValueType>(in.byte() % 11);
    if (m.type == modbus::ValueType::kBool && !bits) m.type = modbus::ValueType::kUInt16;
    m.address = in.u16();
    m.count = 1 + in.byte() % 125;
    const int length = bits ? 1 : modbus::register_count(m.type, m.count);
    if (length > settings.max_registers && !bits) m.type = modbus::ValueType::kUInt16;
    const int fitted = bits ? 1 : modbus::register_count(m.type, m.count);
    if (m.address + fitted > 65536) m.address = 65536 - fitted;
    switch (in.byte() % 3) {
      case 1:
        p.interval = config::Duration{1000};
        break;
      case 2:
        p.interval = config::Duration{250};
        break;
      default:
        break;
    }
    device.points.push_back(std::move(p));
  }

  const std::vector<modbus::ReadRequest> plan = modbus::plan_requests(device);
  std::vector<int> seen(device.points.size(), 0);
  for (std::size_t r = 0; r < plan.size(); ++r) {
    const modbus::ReadRequest& req = plan[r];
    const bool bits = modbus::is_bit_kind(req.kind);
    FUZZ_CHECK(req.count >= 1 && req.count <= (bits ? settings.max_bits : settings.max_registers));
    FUZZ_CHECK(req.start >= 0 && req.start + req.count <= 65536);
    FUZZ_CHECK(!req.points.empty());
    if (r > 0) {
      const auto& prev = plan[r - 1];
      FUZZ_CHECK(std::tie(prev.interval, prev.kind, prev.start) <=
                 std::tie(req.interval, req.kind, req.start));
    }
    for (const std::size_t i : req.points) {
      FUZZ_CHECK(i < device.points.size());
      const config::PointConfig& p = device.points[i];
      const modbus::ModbusPointConfig& m = modbus::point_of(p);
      const int length = bits ? 1 : modbus::register_count(m.type, m.count);
      FUZZ_CHECK(m.kind == req.kind && device.interval_of(p) == req.interval);
      FUZZ_CHECK(m.address >= req.start && m.address + length <= req.start + req.count);
      ++seen[i];
    }
  }
  for (const int n : seen) FUZZ_CHECK(n == 1);
  if (settings.single_point_reads) FUZZ_CHECK(plan.size() == device.points.size());
  return 0;
}
