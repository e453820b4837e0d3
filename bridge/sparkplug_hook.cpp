// The edge node's session (sparkplug_hook.hpp). QoS and retain as the
// specification wants them: births and deaths of devices at QoS 0, not
// retained; NDEATH (will and clean) at QoS 1, not retained; NCMD, DCMD and
// STATE subscribed at QoS 1.
#include "bridge/sparkplug_hook.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/clock.hpp"

namespace fieldgate::bridge::sparkplug {
namespace {

constexpr std::chrono::milliseconds kDeathWait{2000};

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(unix_ms_now());
}

Metric boolean_metric(const char* name, bool value) {
  Metric m;
  m.name = name;
  m.datatype = static_cast<std::uint32_t>(DataType::kBoolean);
  m.value = value;
  return m;
}

Metric bd_seq_metric(std::uint64_t bd_seq) {
  Metric m;
  m.name = "bdSeq";
  m.datatype = static_cast<std::uint32_t>(DataType::kInt64);
  m.value = static_cast<std::int64_t>(bd_seq);
  return m;
}

}  // namespace

Hook::Hook(std::shared_ptr<Node> node, HookParts parts)
    : node_(std::move(node)), parts_(std::move(parts)), bd_counter_(parts_.store_path) {}

void Hook::before_connect() {
  bd_seq_ = bd_counter_.next();
}

std::string Hook::ndeath_payload() const {
  Payload p;
  p.timestamp = now_ms();
  p.metrics.push_back(bd_seq_metric(bd_seq_));
  return encode(p);
}

std::optional<SessionMessage> Hook::will() const {
  return SessionMessage{node_->topics().of("NDEATH"), ndeath_payload(), 1, false};
}

std::string Hook::on_connect(MqttClient& client) {
  born_ = false;
  end_session_.clear();
  node_->clear_dead();
  const Topics& t = node_->topics();
  std::vector<std::string> topics{t.of("NCMD"), t.of("DCMD") + "/+"};
  const std::string& host = node_->settings().primary_host_id;
  if (!host.empty()) {
    std::lock_guard lock(mutex_);
    host_online_ = false;  // until its (retained) STATE says otherwise
    host_changed_ = false;
    topics.push_back("spBv1.0/STATE/" + host);
  }
  if (const auto status = client.subscribe(topics, 1); !status.ok()) {
    return "cannot subscribe to the Sparkplug command topics: " + status.error;
  }
  (void)node_->take_rebirth();  // a connect is a rebirth
  if (host.empty() && !birth(client)) return "cannot publish NBIRTH";
  return {};
}

bool Hook::birth(MqttClient& client) {
  node_->reset_seq();
  node_->set_birth_time(unix_ms_now());
  Payload p;
  p.timestamp = now_ms();
  p.seq = node_->next_seq();
  p.metrics.push_back(bd_seq_metric(bd_seq_));
  p.metrics.push_back(boolean_metric(kRebirthMetric, false));
  p.metrics.push_back(boolean_metric(kNextServerMetric, false));
  p.metrics.push_back(boolean_metric(kRebootMetric, false));
  sent_state_.reset();
  if (parts_.node_state) {
    sent_state_ = parts_.node_state();
    for (auto& m : node_metrics(*sent_state_)) p.metrics.push_back(std::move(m));
    next_node_data_ = std::chrono::steady_clock::now() + parts_.node_data_interval;
  }
  // The births carry the values written meanwhile.
  for (auto& r : node_->take_readbacks()) node_->remember(r);
  if (const auto status = client.publish({node_->topics().of("NBIRTH"), encode(p), 0, false});
      !status.ok()) {
    spdlog::warn("sparkplug: NBIRTH not published: {}", status.error);
    return false;
  }
  born_ = true;
  node_->clear_dead();
  const auto catalog = node_->catalog();
  const auto online =
      parts_.availability ? parts_.availability() : std::map<std::string, bool, std::less<>>{};
  for (const auto& device : catalog->devices) {
    const auto it = online.find(device.name);
    if (it != online.end() && !it->second) {
      node_->set_dead(device.name, true);  // born when it answers again
      continue;
    }
    if (!publish_device_birth(client, device)) return false;
  }
  spdlog::info("sparkplug: NBIRTH as {}/{} (bdSeq {}), {} devices", node_->topics().group,
               node_->topics().node, bd_seq_, catalog->devices.size());
  return true;
}

bool Hook::publish_device_birth(MqttClient& client, const DeviceDef& device) {
  Payload p = device_birth(*node_, device);
  p.timestamp = now_ms();
  p.seq = node_->next_seq();
  const auto status =
      client.publish({node_->topics().of("DBIRTH", device.name), encode(p), 0, false});
  if (!status.ok())
    spdlog::warn("sparkplug: DBIRTH of {} not published: {}", device.name, status.error);
  return status.ok();
}

bool Hook::publish_device_death(MqttClient& client, const std::string& device) {
  Payload p;
  p.timestamp = now_ms();
  p.seq = node_->next_seq();
  const auto status = client.publish({node_->topics().of("DDEATH", device), encode(p), 0, false});
  return status.ok();
}

void Hook::follow_availability(MqttClient& client) {
  if (!parts_.availability) return;
  const auto catalog = node_->catalog();
  for (const auto& [device, online] : parts_.availability()) {
    const bool dead = node_->dead(device);
    if (!online && !dead) {
      if (publish_device_death(client, device)) node_->set_dead(device, true);
    } else if (online && dead) {
      if (const DeviceDef* def = catalog->find(device); def && publish_device_birth(client, *def)) {
        node_->set_dead(device, false);
      }
    }
  }
}

void Hook::service(MqttClient& client) {
  bool host_online = true;
  bool host_changed = false;
  if (!node_->settings().primary_host_id.empty()) {
    std::lock_guard lock(mutex_);
    host_online = host_online_;
    host_changed = std::exchange(host_changed_, false);
  }
  if (host_changed && !host_online && born_) {
    // The host went away: the specification has the edge node publish its
    // NDEATH and disconnect; readings wait in the store, and the next
    // CONNECT (a new bdSeq) waits for the host's STATE again.
    (void)client.publish_and_wait({node_->topics().of("NDEATH"), ndeath_payload(), 1, false},
                                  kDeathWait);
    born_ = false;
    end_session_ = "the Sparkplug primary host went offline (NDEATH sent)";
    spdlog::info(
        "sparkplug: primary host offline; NDEATH, disconnecting, readings stay in the "
        "buffer");
    return;
  }
  const bool rebirth = node_->take_rebirth();
  if (host_online && (!born_ || rebirth)) {
    (void)birth(client);
    return;
  }
  if (!born_) return;
  follow_availability(client);
  publish_readbacks(client);
  publish_node_data(client);
}

std::string Hook::ends_session() {
  return std::exchange(end_session_, {});
}

// A DCMD's write, read back by the device: a DDATA of its own right away,
// not only in the next poll's. A device with its DDEATH in force gets none
// (its DBIRTH will carry the value).
void Hook::publish_readbacks(MqttClient& client) {
  auto readbacks = node_->take_readbacks();
  if (readbacks.empty()) return;
  const auto catalog = node_->catalog();
  for (const Reading& r : readbacks) {
    const DeviceDef* device = catalog->find(r.device);
    const MetricDef* def = device ? device->find(r.point) : nullptr;
    if (def == nullptr || node_->dead(r.device)) continue;
    node_->remember(r);
    Payload p;
    p.metrics.push_back(metric_of(*def, r, true));
    p.timestamp = now_ms();
    p.seq = node_->next_seq();
    const auto status = client.publish(
        {node_->topics().of("DDATA", r.device), encode(p), node_->settings().data_qos, false});
    if (!status.ok()) {
      spdlog::debug("sparkplug: DDATA of the read-back {}/{} not published: {}", r.device, r.point,
                    status.error);
    }
  }
}

// The node metrics, asked at most once per node_data_interval; an NDATA with
// those that changed since the host last heard them.
void Hook::publish_node_data(MqttClient& client) {
  if (!parts_.node_state) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_node_data_) return;
  next_node_data_ = now + parts_.node_data_interval;
  const NodeState state = parts_.node_state();
  if (sent_state_ && *sent_state_ == state) return;
  Payload p;
  p.metrics = node_metrics(state, sent_state_ ? &*sent_state_ : nullptr);
  p.timestamp = now_ms();
  p.seq = node_->next_seq();
  if (const auto status = client.publish({node_->topics().of("NDATA"), encode(p), 0, false});
      !status.ok()) {
    spdlog::debug("sparkplug: NDATA not published: {}", status.error);
    return;
  }
  sent_state_ = state;
}

bool Hook::holds_readings() const noexcept {
  // No births in force yet, or a historical replay ahead of replay_rate.
  return !born_ || node_->replay().holds(ReplayPacer::Clock::now());
}

void Hook::on_close(MqttClient& client) {
  if (!client.publish_and_wait({node_->topics().of("NDEATH"), ndeath_payload(), 1, false},
                               kDeathWait)) {
    spdlog::debug("sparkplug: NDEATH not confirmed");
  }
}

}  // namespace fieldgate::bridge::sparkplug
