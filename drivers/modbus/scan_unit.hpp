// One unit of a scan (drivers/modbus_scan.hpp): its reads, counted and cached (the models'
// probes share registers), and what it turns out to be. Internal to the scan.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "drivers/modbus/device_id.hpp"
#include "drivers/modbus/link.hpp"
#include "drivers/modbus/settings.hpp"
#include "drivers/modbus_scan.hpp"

namespace fieldgate::modbus {

/// How one read went.
enum class ScanRead { kData, kException, kSilent, kGarbled, kLost };

/// The reads of one unit on a connected link: FC 03/04 only.
class UnitReader {
 public:
  UnitReader(ModbusLink& link, int unit, std::chrono::milliseconds timeout)
      : link_(link), unit_(unit), timeout_(timeout) {}

  /// Reads `count` (1..125) registers of `kind` (holding or input) into `out`.
  ScanRead read(RegisterKind kind, int address, int count, std::vector<std::uint16_t>& out);
  /// read(), each (kind, address, count) asked of the device once.
  std::optional<std::vector<std::uint16_t>> cached(RegisterKind kind, int address, int count);

  [[nodiscard]] int requests() const noexcept { return requests_; }
  /// The connection broke (TCP) during one of the reads.
  [[nodiscard]] bool lost() const noexcept { return lost_; }
  [[nodiscard]] ModbusLink& link() noexcept { return link_; }
  [[nodiscard]] int unit() const noexcept { return unit_; }
  [[nodiscard]] std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  /// After a request that got no answer or a broken one: on TCP the answer
  /// may still come and would be taken for the next request's (each answer
  /// then one behind), so the connection is opened anew; on a serial line
  /// what has arrived is thrown away.
  void resync();

 private:
  ModbusLink& link_;
  int unit_;
  std::chrono::milliseconds timeout_;
  int requests_ = 0;
  bool lost_ = false;
  std::map<std::tuple<int, int, int>, std::optional<std::vector<std::uint16_t>>> cache_;
};

/// Fills `result` (state, matches, SunSpec, identification) for a unit that
/// answered: every model's probe, the SunSpec marker, 43/14.
void identify_unit(UnitReader& reader, const std::vector<config::Model>& models,
                   UnitResult& result);

}  // namespace fieldgate::modbus
