// The edge node's session (sparkplug_hook.hpp). QoS and retain as the
// specification wants them: births and deaths of devices at QoS 0, not
// retained; NDEATH (will and clean) at QoS 1, not retained; NCMD, DCMD and
// STATE subscribed at QoS 1.
#include "bridge/sparkplug_hook.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace fieldgate::bridge::sparkplug {
namespace {

constexpr std::chrono::milliseconds kDeathWait{2000};
constexpr std::size_t kMaxStateBytes = 1024;  // {"online":true,"timestamp":...} is ~40

// Commands are small; these bound what a hostile one costs.
DecodeLimits command_limits() {
  DecodeLimits limits;
  limits.max_bytes = 64 * 1024;
  limits.max_metrics = 256;
  limits.max_text = 1024;
  return limits;
}

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

// A DCMD value as a write of a point of `datatype`: numbers for a Double
// point, a Boolean for a Boolean one, text for a String one; else none.
std::optional<Value> write_value(const Metric& m, DataType datatype) {
  const auto type = static_cast<DataType>(m.datatype);
  if (datatype == DataType::kBoolean) {
    if (const auto* b = std::get_if<bool>(&m.value); b && type == DataType::kBoolean) return *b;
    return std::nullopt;
  }
  if (datatype == DataType::kString) {
    const auto* s = std::get_if<std::string>(&m.value);
    if (s && (type == DataType::kString || type == DataType::kText)) return *s;
    return std::nullopt;
  }
  const bool numeric = type >= DataType::kInt8 && type <= DataType::kDouble;
  if (!numeric) return std::nullopt;
  if (const auto* d = std::get_if<double>(&m.value)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&m.value)) return static_cast<double>(*i);
  if (const auto* u = std::get_if<std::uint64_t>(&m.value)) return static_cast<double>(*u);
  return std::nullopt;
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
  return !born_;
}

void Hook::on_close(MqttClient& client) {
  if (!client.publish_and_wait({node_->topics().of("NDEATH"), ndeath_payload(), 1, false},
                               kDeathWait)) {
    spdlog::debug("sparkplug: NDEATH not confirmed");
  }
}

CommandCounts Hook::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void Hook::refuse(const std::string& what) {
  {
    std::lock_guard lock(mutex_);
    ++counts_.refused;
  }
  spdlog::warn("sparkplug: {}", to_valid_utf8(what));
}

bool Hook::on_message(const IncomingMessage& message) noexcept {
  try {
    const Topics& t = node_->topics();
    const std::string ncmd = t.of("NCMD");
    const std::string dcmd_prefix = t.of("DCMD") + "/";
    const std::string& host = node_->settings().primary_host_id;
    if (!host.empty() && message.topic == "spBv1.0/STATE/" + host) {
      handle_state(message);
      return true;
    }
    const bool is_ncmd = message.topic == ncmd;
    const bool is_dcmd = message.topic.starts_with(dcmd_prefix) &&
                         message.topic.find('/', dcmd_prefix.size()) == std::string::npos;
    if (!is_ncmd && !is_dcmd) return false;
    if (message.retained) {
      // The broker's memory of an old command, replayed at subscription.
      refuse(fmt::format("{} ignored: a retained command", message.topic));
      return true;
    }
    const Decoded decoded = decode(message.payload, command_limits());
    if (!decoded.payload) {
      refuse(fmt::format("{} ignored: {}", message.topic, decoded.error));
      return true;
    }
    if (is_ncmd) {
      handle_ncmd(*decoded.payload);
    } else {
      handle_dcmd(message.topic.substr(dcmd_prefix.size()), *decoded.payload);
    }
    return true;
  } catch (...) {
    return true;  // never across the client's thread
  }
}

void Hook::handle_ncmd(const Payload& payload) {
  for (const auto& m : payload.metrics) {
    const std::string name = m.name.value_or("");
    const auto* on = std::get_if<bool>(&m.value);
    if (name == kRebirthMetric && on != nullptr && *on) {
      {
        std::lock_guard lock(mutex_);
        ++counts_.rebirths;
      }
      spdlog::info("sparkplug: rebirth requested by NCMD");
      node_->request_rebirth();
      if (parts_.wake) parts_.wake();
    } else if (name == kNextServerMetric || name == kRebootMetric) {
      // One broker is configured, and fieldgate does not restart its host:
      // acknowledged in the log, nothing else (docs/SPARKPLUG.md).
      spdlog::info("sparkplug: NCMD {} ignored: not supported by fieldgate", name);
    } else {
      refuse(fmt::format("NCMD metric {:?} ignored: unknown", name));
    }
  }
}

void Hook::handle_dcmd(const std::string& device, const Payload& payload) {
  const auto catalog = node_->catalog();
  const DeviceDef* def = catalog->find(device);
  if (def == nullptr) {
    refuse(fmt::format("DCMD for unknown device {:?} ignored", device));
    return;
  }
  for (const auto& m : payload.metrics) {
    const MetricDef* metric = m.alias  ? def->find_alias(*m.alias)
                              : m.name ? def->find_name(*m.name)
                                       : nullptr;
    const std::string label =
        m.name ? fmt::format("{:?}", *m.name) : fmt::format("alias {}", m.alias.value_or(0));
    if (metric == nullptr) {
      refuse(fmt::format("DCMD {} of {:?} ignored: no such metric", label, device));
      continue;
    }
    if (!metric->writable) {
      refuse(fmt::format("DCMD {}/{} ignored: not writable", device, metric->point));
      continue;
    }
    const auto value = write_value(m, metric->datatype);
    if (!value) {
      refuse(fmt::format("DCMD {}/{} ignored: a {} value for a {} metric", device, metric->point,
                         to_string(static_cast<DataType>(m.datatype)),
                         to_string(metric->datatype)));
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      ++counts_.writes;
    }
    if (parts_.write) parts_.write(device, metric->point, *value);
  }
}

void Hook::handle_state(const IncomingMessage& message) {
  std::string why;
  bool online = false;
  std::uint64_t timestamp = 0;
  if (message.payload.size() > kMaxStateBytes) {
    why = fmt::format("{} bytes", message.payload.size());
  } else {
    const auto j = nlohmann::json::parse(message.payload, nullptr, false);
    if (!j.is_object() || !j.contains("online") || !j["online"].is_boolean()) {
      why = "not {\"online\": true|false, \"timestamp\": ...}";
    } else {
      online = j["online"].get<bool>();
      if (j.contains("timestamp") && j["timestamp"].is_number_unsigned()) {
        timestamp = j["timestamp"].get<std::uint64_t>();
      }
    }
  }
  {
    std::lock_guard lock(mutex_);
    ++counts_.state_messages;
    if (why.empty() && timestamp < host_timestamp_) return;  // an older state, replayed
    const bool was = host_online_;
    host_online_ = why.empty() && online;
    if (why.empty()) host_timestamp_ = timestamp;
    host_changed_ = host_changed_ || was != host_online_;
  }
  if (!why.empty()) {
    spdlog::warn("sparkplug: STATE of the primary host unreadable ({}): taken as offline", why);
  } else {
    spdlog::info("sparkplug: primary host {} is {}", node_->settings().primary_host_id,
                 online ? "online" : "offline");
  }
  if (parts_.wake) parts_.wake();
}

}  // namespace fieldgate::bridge::sparkplug
