#include "drivers/modbus_scan.hpp"

#include <algorithm>
#include <stdexcept>

#include "drivers/modbus/link.hpp"
#include "drivers/modbus/scan_unit.hpp"

namespace fieldgate::modbus {
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<ModbusLink> open_link(const ScanOptions& options, const LineSetting& setting) {
  std::shared_ptr<ModbusLink> link;
  if (options.rtu) {
    config::BusConfig bus;
    bus.name = "scan";
    bus.port = options.device;
    bus.baud = setting.baud;
    bus.parity = setting.parity;
    bus.data_bits = options.data_bits;
    bus.stop_bits = options.stop_bits;
    bus.inter_frame_delay = options.inter_frame_delay;
    link = ModbusLink::rtu(bus);
  } else {
    link = ModbusLink::tcp(options.host, options.port);
  }
  if (std::string error = link->ensure_connected(); !error.empty()) {
    throw std::runtime_error(error);
  }
  return link;
}

// The presence request: one holding register at 0. Data or an exception of
// the unit's own means it is there.
UnitState presence(UnitReader& reader) {
  std::vector<std::uint16_t> regs;
  switch (reader.read(RegisterKind::kHolding, 0, 1, regs)) {
    case ScanRead::kData:
    case ScanRead::kException:
      return UnitState::kUnknown;
    case ScanRead::kGarbled:
      return UnitState::kGarbled;
    case ScanRead::kSilent:
    case ScanRead::kLost:
      break;
  }
  return UnitState::kSilent;
}

}  // namespace

std::vector<LineSetting> scan_settings(const ScanOptions& options) {
  std::vector<LineSetting> out;
  if (!options.rtu) return {LineSetting{}};
  for (const int baud : options.bauds) {
    for (const Parity parity : options.parities) out.push_back({baud, parity});
  }
  return out;
}

std::chrono::milliseconds estimate_scan_time(const ScanOptions& options) {
  std::chrono::microseconds total{0};
  for (const LineSetting& s : scan_settings(options)) {
    std::chrono::microseconds per_unit = options.timeout;
    if (options.rtu && s.baud > 0) {
      // The 8-byte request on the wire and the silence before the next one.
      per_unit += std::chrono::microseconds(8LL * 11 * 1000000 / s.baud);
      per_unit += options.inter_frame_delay ? std::chrono::microseconds(*options.inter_frame_delay)
                                            : ModbusLink::t35(s.baud);
    }
    total += per_unit * static_cast<int>(options.units.size());
  }
  return std::chrono::ceil<std::chrono::milliseconds>(total);
}

ScanReport scan_bus(const ScanOptions& options, const std::vector<config::Model>& models,
                    const ScanProgress& progress) {
  ScanReport report;
  report.settings = scan_settings(options);
  const auto start = Clock::now();
  const auto deadline = start + options.max_time;
  const int total = static_cast<int>(report.settings.size() * options.units.size());
  int done = 0;
  for (std::size_t si = 0; si < report.settings.size(); ++si) {
    const LineSetting& setting = report.settings[si];
    if (Clock::now() >= deadline || !report.stopped.empty()) {
      if (report.stopped.empty()) report.stopped = "--max-time reached";
      report.settings_skipped.push_back(setting);
      continue;
    }
    std::shared_ptr<ModbusLink> link = open_link(options, setting);
    for (std::size_t ui = 0; ui < options.units.size(); ++ui) {
      const int unit = options.units[ui];
      if (Clock::now() >= deadline) {
        report.stopped = "--max-time reached";
        report.units_skipped.assign(options.units.begin() + static_cast<long>(ui),
                                    options.units.end());
        break;
      }
      UnitReader reader(*link, unit, options.timeout);
      UnitResult result;
      result.unit = unit;
      result.setting = setting;
      result.state = presence(reader);
      if (result.state == UnitState::kUnknown) identify_unit(reader, models, result);
      result.requests = std::max(result.requests, reader.requests());
      report.units.push_back(std::move(result));
      if (progress) progress(++done, total);
      if (reader.lost()) {
        // A TCP device may drop the connection on a unit it does not serve.
        link->disconnect();
        if (std::string error = link->ensure_connected(); !error.empty()) {
          report.stopped = "connection lost: " + error;
          report.units_skipped.assign(options.units.begin() + static_cast<long>(ui) + 1,
                                      options.units.end());
          break;
        }
      }
    }
  }
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return report;
}

}  // namespace fieldgate::modbus
