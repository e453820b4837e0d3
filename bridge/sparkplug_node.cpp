#include "bridge/sparkplug_node.hpp"

#include <fmt/format.h>

#include <utility>

#include "core/clock.hpp"

namespace fieldgate::bridge::sparkplug {

const MetricDef* DeviceDef::find(std::string_view point) const noexcept {
  for (const auto& m : metrics) {
    if (m.point == point) return &m;
  }
  return nullptr;
}

const MetricDef* DeviceDef::find_alias(std::uint64_t alias) const noexcept {
  for (const auto& m : metrics) {
    if (m.alias == alias) return &m;
  }
  return nullptr;
}

const MetricDef* DeviceDef::find_name(std::string_view metric) const noexcept {
  return find(metric);
}

const DeviceDef* Catalog::find(std::string_view device) const noexcept {
  for (const auto& d : devices) {
    if (d.name == device) return &d;
  }
  return nullptr;
}

DataType datatype_of(config::ValueKind kind) noexcept {
  switch (kind) {
    case config::ValueKind::kBool:
      return DataType::kBoolean;
    case config::ValueKind::kString:
      return DataType::kString;
    case config::ValueKind::kNumber:
      break;
  }
  return DataType::kDouble;
}

std::shared_ptr<const Catalog> make_catalog(const config::Config& config) {
  auto catalog = std::make_shared<Catalog>();
  std::uint64_t alias = 1;
  for (const auto& device : config.devices) {
    DeviceDef def{device.name, {}};
    for (const auto& point : device.points) {
      def.metrics.push_back(
          {point.name, alias++, datatype_of(point.value_kind), point.unit, point.write().writable});
    }
    catalog->devices.push_back(std::move(def));
  }
  return catalog;
}

std::string Topics::of(std::string_view type, std::string_view device) const {
  if (device.empty()) return fmt::format("spBv1.0/{}/{}/{}", group, type, node);
  return fmt::format("spBv1.0/{}/{}/{}/{}", group, type, node, device);
}

Metric metric_of(const MetricDef& def, const Reading& reading, bool by_alias) {
  Metric m;
  if (!by_alias) m.name = def.point;
  m.alias = def.alias;
  m.datatype = static_cast<std::uint32_t>(def.datatype);
  if (reading.source_ts_ms > 0) m.timestamp = static_cast<std::uint64_t>(reading.source_ts_ms);
  if (reading.quality != Quality::kGood) {
    m.quality = kQualityBad;  // and no value: is_null
    return m;
  }
  // The value as the datatype wants it; a value of another kind (a driver
  // that changed its mind) is sent as null rather than as a wrong type.
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          if (def.datatype == DataType::kBoolean) m.value = v;
          if (def.datatype == DataType::kDouble) m.value = v ? 1.0 : 0.0;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          if (def.datatype == DataType::kDouble) m.value = static_cast<double>(v);
          if (def.datatype == DataType::kBoolean) m.value = v != 0;
        } else if constexpr (std::is_same_v<T, double>) {
          if (def.datatype == DataType::kDouble) m.value = v;
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (def.datatype == DataType::kString) m.value = v;
        }
      },
      reading.value);
  if (std::holds_alternative<std::monostate>(m.value)) m.quality = kQualityBad;
  return m;
}

namespace {

Metric unsigned_metric(const char* name, std::uint64_t value) {
  Metric m;
  m.name = name;
  m.datatype = static_cast<std::uint32_t>(DataType::kUInt64);
  m.value = value;
  return m;
}

}  // namespace

std::vector<Metric> node_metrics(const NodeState& state, const NodeState* since) {
  std::vector<Metric> out;
  const auto add = [&](const char* name, std::uint64_t NodeState::*field) {
    if (since == nullptr || since->*field != state.*field) {
      out.push_back(unsigned_metric(name, state.*field));
    }
  };
  add("Gateway/Devices", &NodeState::devices);
  add("Gateway/Devices Online", &NodeState::devices_online);
  add("Gateway/Queue Depth", &NodeState::queue_depth);
  add("Gateway/Dropped", &NodeState::dropped);
  return out;
}

Payload device_birth(const Node& node, const DeviceDef& device) {
  Payload p;
  for (const auto& def : device.metrics) {
    Metric m;
    if (const auto last = node.last(device.name, def.point)) {
      m = metric_of(def, *last, false);
    } else {
      m.name = def.point;
      m.alias = def.alias;
      m.datatype = static_cast<std::uint32_t>(def.datatype);  // no value yet: is_null
    }
    m.eng_unit = def.unit;
    p.metrics.push_back(std::move(m));
  }
  return p;
}

Node::Node(config::SparkplugConfig settings, std::shared_ptr<const Catalog> catalog)
    : settings_(std::move(settings)),
      topics_{settings_.group_id, settings_.edge_node_id},
      catalog_(std::move(catalog)) {}

std::shared_ptr<const Catalog> Node::catalog() const {
  std::lock_guard lock(mutex_);
  return catalog_;
}

void Node::set_catalog(std::shared_ptr<const Catalog> catalog) {
  {
    std::lock_guard lock(mutex_);
    catalog_ = std::move(catalog);
  }
  request_rebirth();
}

std::uint64_t Node::next_seq() noexcept {
  const std::uint64_t seq = seq_;
  seq_ = (seq_ + 1) % 256;
  return seq;
}

void Node::remember(const Reading& reading) {
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(reading.device, reading.point);
  const auto it = last_.find(key);
  // A stored reading replayed late never replaces a newer one.
  if (it != last_.end() && it->second.source_ts_ms > reading.source_ts_ms) return;
  last_.insert_or_assign(std::move(key), reading);
}

std::optional<std::int64_t> Node::dead_since(std::string_view device) const {
  const auto it = dead_.find(device);
  if (it == dead_.end()) return std::nullopt;
  return it->second;
}

void Node::set_dead(const std::string& device, bool dead) {
  if (dead) {
    dead_.try_emplace(device, unix_ms_now());
  } else {
    dead_.erase(device);
  }
}

void Node::push_readback(Reading reading) {
  std::lock_guard lock(mutex_);
  if (readbacks_.size() >= kMaxReadbacks) readbacks_.erase(readbacks_.begin());
  readbacks_.push_back(std::move(reading));
}

std::vector<Reading> Node::take_readbacks() {
  std::lock_guard lock(mutex_);
  return std::exchange(readbacks_, {});
}

std::optional<Reading> Node::last(std::string_view device, std::string_view point) const {
  std::lock_guard lock(mutex_);
  const auto it = last_.find(std::make_pair(std::string(device), std::string(point)));
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

}  // namespace fieldgate::bridge::sparkplug
