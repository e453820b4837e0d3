#include "gateway/status.hpp"

#include <fmt/format.h>

#include "gateway/reading_format.hpp"

namespace fieldgate::gateway {

nlohmann::json to_json(const GatewayStatus& status, std::int64_t now_ms) {
  nlohmann::json devices = nlohmann::json::array();
  for (const auto& d : status.devices) {
    auto j = to_json(d.health);
    j["name"] = d.device;
    j["up"] = d.health.consecutive_failures == 0 && d.health.last_good_ms != 0;
    j["backing_off"] = d.backing_off;
    devices.push_back(std::move(j));
  }
  const auto& q = status.queue;
  const auto& u = status.uplink;
  return {
      {"gateway", status.gateway},
      {"ts", format_timestamp(now_ms)},
      {"uptime_s", status.uptime.count()},
      {"devices", devices},
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
        {"dropped_expired", q.dropped_expired}}},
      {"uplink",
       {{"connected", u.connected},
        {"published", u.published},
        {"delivered", u.delivered},
        {"inflight", u.inflight},
        {"reconnects", u.reconnects},
        {"connect_failures", u.connect_failures},
        {"command_topics", u.command_topics},
        {"results_published", u.results.published},
        {"results_dropped", u.results.dropped},
        {"last_error", u.last_error}}},
  };
}

std::string summary_line(const GatewayStatus& status, std::int64_t now_ms) {
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
  const auto& q = status.queue;
  const auto oldest_s = q.oldest_ts_ms == 0 ? 0 : (now_ms - q.oldest_ts_ms) / 1000;
  const auto dropped = q.dropped_oldest + q.dropped_newest + q.dropped_expired;
  return fmt::format(
      "{}/{} devices up{}; queue {} readings, {} kB, oldest {}s; uplink {}, {} delivered, {} "
      "dropped{}",
      up, status.devices.size(), down.empty() ? "" : " (down: " + down + ")", q.rows,
      q.bytes / 1000, oldest_s, status.uplink.connected ? "connected" : "DISCONNECTED",
      status.uplink.delivered, dropped,
      status.uplink.last_error.empty() ? "" : " (" + status.uplink.last_error + ")");
}

}  // namespace fieldgate::gateway
