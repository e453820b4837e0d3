// The Sparkplug B edge node's session (bridge/session_hook.hpp): NDEATH as
// the will with this connection's bdSeq; NBIRTH and a DBIRTH per device at
// connect (or once the primary host says it is online); DDEATH and DBIRTH
// again as devices stop and start answering; NCMD (Rebirth; Next Server and
// Reboot are logged and ignored) and DCMD (handed to the gateway's write
// path); the primary host's STATE; a clean NDEATH before an orderly
// disconnect; node metrics (the gateway's status, its queue depth) in NBIRTH
// and, when they change, NDATA; a DCMD's read-back value in a DDATA of its
// own. When the primary host goes offline the session ends (NDEATH, then
// DISCONNECT: the next CONNECT has a new bdSeq). Readings wait in the store
// while there is no birth in force (holds_readings()). Data messages themselves come from the
// "sparkplug-b" encoder (sparkplug_encoder.hpp) sharing the Node.
//
// Threads: on_message() on the client's thread (decodes with bounds, queues,
// wakes the forwarder); the rest on the forwarder thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "bridge/session_hook.hpp"
#include "bridge/sparkplug_bdseq.hpp"
#include "bridge/sparkplug_node.hpp"

namespace fieldgate::bridge::sparkplug {

/// Counters of incoming commands, for logs and tests.
struct CommandCounts {
  std::uint64_t rebirths = 0;        // NCMD Rebirth honoured
  std::uint64_t writes = 0;          // DCMD metrics handed to the write path
  std::uint64_t refused = 0;         // payloads or metrics refused (malformed, unknown, read-only)
  std::uint64_t state_messages = 0;  // STATE messages of the primary host
};

/// What the gateway plugs in.
struct HookParts {
  /// A DCMD metric on a writable point: write `value` to `device`/`point`
  /// (the command router's path: limits, audit, result). From the client's
  /// thread; quick, never throws.
  std::function<void(const std::string& device, const std::string& point, const Value& value)>
      write;
  /// Each device's availability: true online, false offline (absent: not
  /// known yet, taken as online). From the forwarder thread.
  std::function<std::map<std::string, bool, std::less<>>()> availability;
  /// The gateway's own state for the node metrics (absent: NBIRTH without
  /// them). From the forwarder thread, at each NBIRTH and at most once per
  /// node_data_interval after it.
  std::function<NodeState()> node_state;
  /// How often node_state is asked again; an NDATA goes out only when it changed.
  std::chrono::milliseconds node_data_interval{10000};
  /// Wakes the forwarder (service() comes soon). From any thread.
  std::function<void()> wake;
  /// The store's file, for bdSeq ("" = kept in memory).
  std::string store_path;
};

class Hook final : public SessionHook {
 public:
  Hook(std::shared_ptr<Node> node, HookParts parts);

  void before_connect() override;
  [[nodiscard]] std::optional<SessionMessage> will() const override;
  [[nodiscard]] std::string on_connect(MqttClient& client) override;
  void service(MqttClient& client) override;
  [[nodiscard]] bool on_message(const IncomingMessage& message) noexcept override;
  void on_close(MqttClient& client) override;
  [[nodiscard]] bool holds_readings() const noexcept override;
  [[nodiscard]] std::string ends_session() override;

  [[nodiscard]] CommandCounts counts() const;

 private:
  [[nodiscard]] std::string ndeath_payload() const;
  bool birth(MqttClient& client);
  bool publish_device_birth(MqttClient& client, const DeviceDef& device);
  bool publish_device_death(MqttClient& client, const std::string& device);
  void follow_availability(MqttClient& client);
  void publish_readbacks(MqttClient& client);
  void publish_node_data(MqttClient& client);
  void handle_ncmd(const Payload& payload);
  void handle_dcmd(const std::string& device, const Payload& payload);
  void handle_state(const IncomingMessage& message);
  void refuse(const std::string& what);

  std::shared_ptr<Node> node_;
  HookParts parts_;
  BdSeqCounter bd_counter_;
  std::uint64_t bd_seq_ = 0;  // of this connection

  // Forwarder thread only.
  bool born_ = false;                    // NBIRTH in force in this session
  std::string end_session_;              // why the session must end ("" = it goes on)
  std::optional<NodeState> sent_state_;  // the node metrics' values the host has
  std::chrono::steady_clock::time_point next_node_data_{};

  mutable std::mutex mutex_;  // what on_message() shares
  bool host_online_ = false;
  bool host_changed_ = false;
  std::uint64_t host_timestamp_ = 0;
  CommandCounts counts_;
};

}  // namespace fieldgate::bridge::sparkplug
