// The edge node's incoming side (sparkplug_hook.hpp): NCMD, DCMD and the
// primary host's STATE, on the client's thread. Every payload is hostile
// input: decoded with bounds, refused with a logged (escaped) reason and a
// count, never a crash and never a write.
#include "bridge/sparkplug_hook.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace fieldgate::bridge::sparkplug {
namespace {

constexpr std::size_t kMaxStateBytes = 1024;  // {"online":true,"timestamp":...} is ~40

// Commands are small; these bound what a hostile one costs.
DecodeLimits command_limits() {
  DecodeLimits limits;
  limits.max_bytes = 64 * 1024;
  limits.max_metrics = 256;
  limits.max_text = 1024;
  return limits;
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
