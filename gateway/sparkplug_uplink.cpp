#include "gateway/sparkplug_uplink.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "bridge/sparkplug_encoder.hpp"
#include "bridge/sparkplug_hook.hpp"
#include "core/clock.hpp"

namespace fieldgate::gateway {
namespace {

// A result's "readback" (the point's value as the device holds it after the
// write) as a reading's value; none for null or anything else.
std::optional<Value> value_of(const nlohmann::json& readback) {
  if (readback.is_boolean()) return readback.get<bool>();
  if (readback.is_number()) return readback.get<double>();
  if (readback.is_string()) return readback.get<std::string>();
  return std::nullopt;
}

}  // namespace

SparkplugUplink::SparkplugUplink(const config::Config& config,
                                 std::shared_ptr<AvailabilityBoard> board, bridge::Store& store,
                                 std::function<CommandRouter*()> router, std::function<void()> wake)
    : node_(std::make_shared<bridge::sparkplug::Node>(*config.sparkplug,
                                                      bridge::sparkplug::make_catalog(config))),
      board_(std::move(board)),
      store_(store),
      router_(std::move(router)),
      wake_(std::move(wake)),
      store_path_(config.store.path),
      node_data_interval_(config.mqtt.status_interval) {}

void SparkplugUplink::attach(bridge::ForwarderParts& parts) {
  parts.encoders.add(config::kSparkplugFormat, bridge::sparkplug::make_encoder(node_));
  parts.status_hook = false;  // NDEATH is the will
  bridge::sparkplug::HookParts hook;
  hook.store_path = store_path_;
  hook.wake = wake_;
  hook.availability = [board = board_] {
    std::map<std::string, bool, std::less<>> out;
    for (const auto& [device, state] : board->states()) {
      if (state != Availability::kUnknown) out[device] = state == Availability::kOnline;
    }
    return out;
  };
  // The forwarder's thread calls these until it stops, which may be after
  // this object is gone (a start that failed half-way): they hold what they
  // use, never `this`. The store outlives the forwarder.
  hook.node_state = [node = node_, board = board_, store = &store_] {
    return node_state(*node, *board, *store);
  };
  hook.node_data_interval = node_data_interval_;
  hook.write = [node = node_, router = router_, wake = wake_](
                   const std::string& device, const std::string& point, const Value& value) {
    write(node, router, wake, device, point, value);
  };
  parts.hooks.push_back(std::make_unique<bridge::sparkplug::Hook>(node_, std::move(hook)));
}

void SparkplugUplink::reload(const config::Config& config) {
  node_->set_catalog(bridge::sparkplug::make_catalog(config));
  if (wake_) wake_();
}

// The forwarder thread: the store's counters are under its own locks.
bridge::sparkplug::NodeState SparkplugUplink::node_state(const bridge::sparkplug::Node& node,
                                                         const AvailabilityBoard& board,
                                                         bridge::Store& store) {
  bridge::sparkplug::NodeState state;
  state.devices = node.catalog()->devices.size();
  for (const auto& [device, availability] : board.states()) {
    state.devices_online += availability == Availability::kOnline ? 1 : 0;
  }
  const auto stats = store.stats();
  state.queue_depth = stats.rows;
  state.dropped = stats.dropped_oldest + stats.dropped_newest + stats.dropped_expired;
  return state;
}

// The client's thread: the router's checks, bus queue, audit line and result
// message, as for a command on the point's `/set` topic; the value read back
// (a poll worker's thread) goes to the node, which sends it in a DDATA.
void SparkplugUplink::write(const std::shared_ptr<bridge::sparkplug::Node>& node,
                            const std::function<CommandRouter*()>& router_of,
                            const std::function<void()>& wake, const std::string& device,
                            const std::string& point, const Value& value) {
  CommandRouter* router = router_of ? router_of() : nullptr;
  if (router == nullptr) return;
  CommandRouter::ExternalWrite w;
  w.device = device;
  w.point = point;
  w.value = value;
  w.source = fmt::format("Sparkplug DCMD on {}", node->topics().of("DCMD", device));
  w.reply = [node, wake, device, point](const CommandResult& result) {
    if (result.status != "ok") return;
    const auto readback = value_of(result.readback);
    if (!readback) return;
    Reading r;
    r.device = device;
    r.point = point;
    r.value = *readback;
    r.quality = Quality::kGood;
    r.source_ts_ms = result.ts_ms > 0 ? result.ts_ms : unix_ms_now();
    node->push_readback(std::move(r));
    if (wake) wake();
  };
  router->submit_write(std::move(w));
}

}  // namespace fieldgate::gateway
