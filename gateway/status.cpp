#include "gateway/status.hpp"

#include <fmt/format.h>

#include "core/clock.hpp"
#include "gateway/reading_format.hpp"

namespace fieldgate::gateway {

nlohmann::json to_json(const GatewayStatus& status, std::int64_t now_ms) {
  nlohmann::json devices = nlohmann::json::array();
  std::uint64_t skipped_polls = 0;
  std::uint64_t suppressed = 0;
  for (const auto& d : status.devices) {
    auto j = to_json(d.health);
    j["name"] = d.device;
    j["up"] = d.health.consecutive_failures == 0 && d.health.last_good_ms != 0;
    j["availability"] = std::string(to_string(d.availability));  // its availability topic's
    j["backing_off"] = d.backing_off;
    j["skipped_polls"] = d.skipped_polls;
    skipped_polls += d.skipped_polls;
    j["suppressed"] = d.suppressed;
    suppressed += d.suppressed;
    devices.push_back(std::move(j));
  }
  const auto& q = status.queue;
  const auto& u = status.uplink;
  auto j = nlohmann::json{
      {"gateway", status.gateway},
      {"ts", iso8601(now_ms)},
      {"uptime_s", status.uptime.count()},
      {"devices", devices},
      {"skipped_polls", skipped_polls},  // all devices', since start
      {"suppressed", suppressed},        // held back before the store by policy, since start
      {"queue",
       {{"rows", q.rows},
        {"bytes", q.bytes},
        {"pending", q.pending},
        {"memory", q.memory},
        {"spilled", q.spilled},
        {"oldest_age_s", q.oldest_ts_ms == 0 ? 0 : (now_ms - q.oldest_ts_ms) / 1000},
        {"next_seq", q.next_seq},
        {"dropped_oldest", q.dropped_oldest},
        {"dropped_newest", q.dropped_newest},
        {"dropped_expired", q.dropped_expired},
        {"dead_letters", q.dead_letters},
        {"dead_lettered", q.dead_lettered},
        {"refused_oversize", q.refused_oversize}}},
      {"uplink",
       {{"connected", u.connected},
        {"published", u.published},
        {"delivered", u.delivered},
        {"inflight", u.inflight},
        {"window", u.window},
        {"reconnects", u.reconnects},
        {"connect_failures", u.connect_failures},
        {"command_topics", u.command_topics},
        {"dead_lettered", u.dead_lettered},
        {"results_published", u.results.published},
        {"results_dropped", u.results.dropped},
        {"last_error", u.last_error}}},
  };
  // [modbus_server]: only when it runs.
  if (status.modbus_server) j["modbus_server"] = to_json(*status.modbus_server);
  return j;
}

namespace {

// "2/3 devices up (down: pump: timed out)"
std::string devices_part(const GatewayStatus& status) {
  std::size_t up = 0;
  std::string down;
  for (const auto& d : status.devices) {
    if (d.health.consecutive_failures == 0 && d.health.last_good_ms != 0) {
      ++up;
    } else {
      down += fmt::format("{}{}: {}", down.empty() ? "" : "; ", d.device,
                          d.health.last_error.empty() ? "not polled yet" : d.health.last_error);
    }
  }
  return fmt::format("{}/{} devices up{}", up, status.devices.size(),
                     down.empty() ? "" : " (down: " + down + ")");
}

// "(14 kB, oldest 3s)" of the readings in the buffer.
std::string buffer_size_part(const bridge::StoreStats& q, std::int64_t now_ms) {
  const auto oldest_s = q.oldest_ts_ms == 0 ? 0 : (now_ms - q.oldest_ts_ms) / 1000;
  return fmt::format("({} kB, oldest {}s)", q.bytes / 1000, oldest_s);
}

// The drop counters are totals kept in the database, not this run's.
std::string dropped_part(const bridge::StoreStats& q) {
  return fmt::format("{} dropped since the buffer was created",
                     q.dropped_oldest + q.dropped_newest + q.dropped_expired);
}

}  // namespace

std::string summary_line(const GatewayStatus& status, std::int64_t now_ms) {
  const auto& q = status.queue;
  const auto& u = status.uplink;
  return fmt::format(
      "{}; {} readings waiting in the buffer {}; uplink {}, {} delivered since start, {} in "
      "flight unconfirmed{}; {}",
      devices_part(status), q.rows, buffer_size_part(q, now_ms),
      u.connected ? "connected" : "DISCONNECTED", u.delivered, u.inflight,
      u.last_error.empty() ? "" : " (" + u.last_error + ")", dropped_part(q));
}

std::string stop_line(const GatewayStatus& status, std::int64_t now_ms) {
  const auto& q = status.queue;
  return fmt::format(
      "at stop: {}; {} delivered since start; {} readings not yet delivered stay in the buffer "
      "{} for the next start; {}",
      devices_part(status), status.uplink.delivered, q.rows, buffer_size_part(q, now_ms),
      dropped_part(q));
}

}  // namespace fieldgate::gateway
