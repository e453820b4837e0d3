// The Sparkplug B edge node's shared state, between its encoder (DDATA from
// the store's readings, sparkplug_encoder.cpp) and its session hook (births,
// deaths, commands, STATE; sparkplug_hook.cpp), both on the forwarder
// thread, and the client's thread (commands and STATE arrive there) and the
// gateway (a reload gives new metrics, availability changes).
//
// Mapping (docs/SPARKPLUG.md): the gateway is the edge node, each configured
// device a Sparkplug device, each point a metric named after it. Aliases are
// numbered in configuration order from 1 (devices in order, their points in
// order), so an unchanged configuration keeps them across restarts; a reload
// that changes them brings a rebirth. Datatypes follow the point's value
// kind: Double for numbers, Boolean, String.
//
// seq: one counter per MQTT session, 0 in NBIRTH, then +1 per message
// (DBIRTH, NDATA, DDATA, DDEATH), 255 → 0. next_seq() is called only on the
// forwarder thread, at the moment a message is made, and messages are handed
// to the client in the order they were made.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/sparkplug_payload.hpp"
#include "bridge/sparkplug_replay.hpp"
#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge::sparkplug {

/// One point as a metric.
struct MetricDef {
  std::string point;  // its name: the metric's name
  std::uint64_t alias = 0;
  DataType datatype = DataType::kDouble;
  std::string unit;  // engUnit; "" = none
  bool writable = false;
};

/// One device and its metrics, in configuration order.
struct DeviceDef {
  std::string name;
  std::vector<MetricDef> metrics;
  [[nodiscard]] const MetricDef* find(std::string_view point) const noexcept;
  [[nodiscard]] const MetricDef* find_alias(std::uint64_t alias) const noexcept;
  [[nodiscard]] const MetricDef* find_name(std::string_view metric) const noexcept;
};

/// Every device's metrics, from a configuration.
struct Catalog {
  std::vector<DeviceDef> devices;
  [[nodiscard]] const DeviceDef* find(std::string_view device) const noexcept;
};

/// The metrics of `config` (aliases numbered from 1 in configuration order).
[[nodiscard]] std::shared_ptr<const Catalog> make_catalog(const config::Config& config);

/// The datatype of a point's metric.
[[nodiscard]] DataType datatype_of(config::ValueKind kind) noexcept;

/// The node metrics in NBIRTH besides bdSeq and Node Control/*.
inline constexpr const char* kRebirthMetric = "Node Control/Rebirth";
inline constexpr const char* kNextServerMetric = "Node Control/Next Server";
inline constexpr const char* kRebootMetric = "Node Control/Reboot";

/// The gateway's own state as node metrics (UInt64, by name): in NBIRTH, and
/// in NDATA when a value changed (at most once per HookParts::node_data_interval).
struct NodeState {
  std::uint64_t devices = 0;         // "Gateway/Devices": configured
  std::uint64_t devices_online = 0;  // "Gateway/Devices Online": answering
  std::uint64_t queue_depth = 0;     // "Gateway/Queue Depth": readings waiting in the buffer
  std::uint64_t dropped = 0;         // "Gateway/Dropped": readings the buffer dropped, ever
  bool operator==(const NodeState&) const = default;
};
/// The metrics of `state`; with `since`, only those that differ from it.
[[nodiscard]] std::vector<Metric> node_metrics(const NodeState& state,
                                               const NodeState* since = nullptr);

/// Topics of one edge node.
struct Topics {
  std::string group;
  std::string node;
  /// "spBv1.0/<group>/<type>/<node>[/<device>]".
  [[nodiscard]] std::string of(std::string_view type, std::string_view device = {}) const;
};

/// `reading` as the value of metric `def` at `timestamp`: the value
/// converted to the metric's datatype, or is_null with Quality bad when the
/// read failed.
[[nodiscard]] Metric metric_of(const MetricDef& def, const Reading& reading, bool by_alias);

/// The DBIRTH of `device`: every metric with name, alias, datatype, engUnit
/// and the last value `node` knows (is_null when none yet).
class Node;
[[nodiscard]] Payload device_birth(const Node& node, const DeviceDef& device);

/// The state the encoder and the hook share. Thread-safe, except where a
/// member says "forwarder thread".
class Node {
 public:
  Node(config::SparkplugConfig settings, std::shared_ptr<const Catalog> catalog);

  [[nodiscard]] const config::SparkplugConfig& settings() const noexcept { return settings_; }
  [[nodiscard]] const Topics& topics() const noexcept { return topics_; }

  /// The metrics now (replaced by a reload: set_catalog() asks for a rebirth).
  [[nodiscard]] std::shared_ptr<const Catalog> catalog() const;
  void set_catalog(std::shared_ptr<const Catalog> catalog);

  /// The seq of the next message (forwarder thread).
  [[nodiscard]] std::uint64_t next_seq() noexcept;
  /// A session begins: the next seq is 0 (NBIRTH's).
  void reset_seq() noexcept { seq_ = 0; }

  /// Time (ms since the epoch) of this session's births: a reading acquired
  /// before it is historical (a stored reading sent late).
  void set_birth_time(std::int64_t ms) noexcept { birth_ms_ = ms; }
  [[nodiscard]] std::int64_t birth_time() const noexcept { return birth_ms_; }

  /// The last value of each point sent or seen, for the next DBIRTH.
  void remember(const Reading& reading);
  [[nodiscard]] std::optional<Reading> last(std::string_view device, std::string_view point) const;

  /// A full rebirth was asked for (NCMD Rebirth, a reload); taken once.
  void request_rebirth() noexcept { rebirth_.store(true); }
  [[nodiscard]] bool take_rebirth() noexcept { return rebirth_.exchange(false); }

  /// Devices with a DDEATH in force (no DBIRTH since), forwarder thread: the
  /// hook sets them, the encoder births a device that answered after its
  /// death (a reading acquired after dead_since()) before its data.
  [[nodiscard]] bool dead(std::string_view device) const { return dead_.contains(device); }
  /// When the DDEATH in force was decided (ms since the epoch), if any.
  [[nodiscard]] std::optional<std::int64_t> dead_since(std::string_view device) const;
  void set_dead(const std::string& device, bool dead);
  void clear_dead() noexcept { dead_.clear(); }

  /// The value a DCMD wrote, as the device read it back (any thread): sent
  /// in a DDATA of its own by the hook's service(). At most kMaxReadbacks
  /// wait; beyond, the oldest is dropped (the next poll brings it anyway).
  static constexpr std::size_t kMaxReadbacks = 256;
  void push_readback(Reading reading);
  [[nodiscard]] std::vector<Reading> take_readbacks();

  /// The historical replay's pace (forwarder thread): the encoder spends,
  /// the hook holds readings while it is ahead.
  [[nodiscard]] ReplayPacer& replay() noexcept { return replay_; }

 private:
  const config::SparkplugConfig settings_;
  const Topics topics_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Catalog> catalog_;
  std::map<std::pair<std::string, std::string>, Reading, std::less<>> last_;
  std::vector<Reading> readbacks_;                         // under mutex_
  std::uint64_t seq_ = 0;                                  // forwarder thread only
  std::map<std::string, std::int64_t, std::less<>> dead_;  // forwarder thread only
  std::atomic<std::int64_t> birth_ms_{0};
  std::atomic<bool> rebirth_{false};
  ReplayPacer replay_{settings_.replay_rate};  // forwarder thread only
};

}  // namespace fieldgate::bridge::sparkplug
