// Which device answers for which served unit id, and the server's counters
// (counted, and as JSON for the stats message).
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/modbus_server.hpp"

namespace fieldgate::gateway {

std::shared_ptr<const ServedUnits> served_units(
    const config::ModbusServerConfig& config,
    const std::vector<std::shared_ptr<const drivers::RegisterCache>>& caches) {
  auto units = std::make_shared<ServedUnits>();
  units->max_age = config.max_age;
  units->passthrough = config.passthrough;
  std::map<std::string, std::shared_ptr<const drivers::RegisterCache>, std::less<>> by_device;
  for (const auto& cache : caches) by_device.emplace(cache->device(), cache);
  const auto serve = [&](int id, const std::shared_ptr<const drivers::RegisterCache>& cache) {
    auto& slot = units->by_unit.at(static_cast<std::size_t>(id));
    if (slot) {
      throw std::runtime_error(fmt::format(
          "modbus server: devices \"{}\" and \"{}\" would both answer for unit id {} (give one "
          "of them another id in [modbus_server.units])",
          slot->device(), cache->device(), id));
    }
    slot = cache;
  };
  for (const auto& unit : config.units) {
    const auto it = by_device.find(unit.device);
    if (it == by_device.end()) {
      throw std::runtime_error(fmt::format(
          "modbus server: device \"{}\" in [modbus_server.units] keeps no registers to serve "
          "(only Modbus devices do)",
          unit.device));
    }
    serve(unit.unit_id, it->second);
    by_device.erase(it);
  }
  for (const auto& [device, cache] : by_device) {
    if (const auto own = cache->own_unit_id()) {
      serve(*own, cache);
    } else {
      spdlog::info(
          "modbus server: device \"{}\" is not served: a TCP device needs a unit id in "
          "[modbus_server.units]",
          device);
    }
  }
  return units;
}

namespace {

// The index in ModbusServerStats::by_function: 1..6, 15, 16, other.
std::size_t function_slot(std::uint8_t function) noexcept {
  switch (function) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return function - 1U;
    case 15:
      return 6;
    case 16:
      return 7;
    default:
      return 8;
  }
}

}  // namespace

void ModbusServerStats::count(const Answer& answer) noexcept {
  ++requests;
  ++by_function[function_slot(answer.function)];
  if (answer.exception != ModbusException::kNone) {
    ++exceptions;
    // Refused by the frame's own checks: a register no writable point is exactly.
    if (answer.function == 5 || answer.function == 6 || answer.function == 15 ||
        answer.function == 16) {
      ++writes_refused;
    }
  }
  if (!answer.lookup) return;
  switch (*answer.lookup) {
    case drivers::RegisterCache::Lookup::kHit:
      ++cache_hits;
      break;
    case drivers::RegisterCache::Lookup::kNotPolled:
      ++cache_misses;
      break;
    case drivers::RegisterCache::Lookup::kStale:
      ++cache_stale;
      break;
  }
}

nlohmann::json to_json(const ModbusServerStats& s) {
  static constexpr std::array<const char*, 9> kFunctions{"1", "2",  "3",  "4",    "5",
                                                         "6", "15", "16", "other"};
  nlohmann::json by_function = nlohmann::json::object();
  for (std::size_t i = 0; i < kFunctions.size(); ++i) by_function[kFunctions[i]] = s.by_function[i];
  return {{"clients", s.clients},
          {"accepted", s.accepted},
          {"refused", s.refused},
          {"over_limit", s.over_limit},
          {"closed_idle", s.closed_idle},
          {"closed_bad_frame", s.closed_bad_frame},
          {"requests", s.requests},
          {"requests_by_function", by_function},
          {"cache_hits", s.cache_hits},
          {"cache_misses", s.cache_misses},
          {"cache_stale", s.cache_stale},
          {"exceptions", s.exceptions},
          {"in_flight", s.in_flight},
          {"writes_ok", s.writes_ok},
          {"writes_refused", s.writes_refused},
          {"writes_failed", s.writes_failed},
          {"passthrough_ok", s.passthrough_ok},
          {"passthrough_failed", s.passthrough_failed},
          {"busy", s.busy},
          {"answers_dropped", s.answers_dropped}};
}

}  // namespace fieldgate::gateway
