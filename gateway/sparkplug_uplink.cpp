#include "gateway/sparkplug_uplink.hpp"

#include <nlohmann/json.hpp>

#include "bridge/sparkplug_encoder.hpp"
#include "bridge/sparkplug_hook.hpp"
#include "bridge/topics.hpp"

namespace fieldgate::gateway {
namespace {

std::map<std::pair<std::string, std::string>, std::string> command_topics_of(
    const config::Config& config) {
  const bridge::TopicMap topics(config);
  std::map<std::pair<std::string, std::string>, std::string> out;
  for (const auto& device : config.devices) {
    for (const auto& point : device.points) {
      if (!point.write.writable) continue;
      out[{device.name, point.name}] =
          topics.command_route(device.name, point.name, point.unit).command;
    }
  }
  return out;
}

}  // namespace

SparkplugUplink::SparkplugUplink(const config::Config& config,
                                 std::shared_ptr<AvailabilityBoard> board,
                                 std::function<CommandRouter*()> router, std::function<void()> wake)
    : node_(std::make_shared<bridge::sparkplug::Node>(*config.sparkplug,
                                                      bridge::sparkplug::make_catalog(config))),
      board_(std::move(board)),
      router_(std::move(router)),
      wake_(std::move(wake)),
      store_path_(config.store.path),
      command_topics_(command_topics_of(config)) {}

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
  hook.write = [this](const std::string& device, const std::string& point, const Value& value) {
    write(device, point, value);
  };
  parts.hooks.push_back(std::make_unique<bridge::sparkplug::Hook>(node_, std::move(hook)));
}

void SparkplugUplink::reload(const config::Config& config) {
  auto topics = command_topics_of(config);
  {
    std::lock_guard lock(mutex_);
    command_topics_ = std::move(topics);
  }
  node_->set_catalog(bridge::sparkplug::make_catalog(config));
  if (wake_) wake_();
}

// The client's thread: a command as if it had come on the point's `/set`
// topic, so the router applies the same checks, queue and audit line.
void SparkplugUplink::write(const std::string& device, const std::string& point,
                            const Value& value) {
  std::string topic;
  {
    std::lock_guard lock(mutex_);
    const auto it = command_topics_.find({device, point});
    if (it == command_topics_.end()) return;  // the hook checked: only after a reload
    topic = it->second;
  }
  nlohmann::json payload;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          payload["value"] = nullptr;
        } else {
          payload["value"] = v;
        }
      },
      value);
  CommandRouter* router = router_ ? router_() : nullptr;
  if (router == nullptr) return;
  bridge::IncomingCommand command;
  command.topic = std::move(topic);
  command.payload = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  command.arrived = std::chrono::steady_clock::now();
  router->handle(command);
}

}  // namespace fieldgate::gateway
