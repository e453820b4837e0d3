// The fault suite's rig: the real `fieldgate run` binary polling simulated
// power meters (`fieldgate simulate modbus-tcp`, also the real binary) under
// heavy load, a real mosquitto behind a TcpProxy (link faults, MqttTap), an
// independent subscriber (behind a second proxy that only watches: the order
// in which the broker sent it messages), and the store's own account of what
// it accepted (`fieldgate queue stats/ls --json`) for the checker.
//
// Every scenario is random within bounds: FIELDGATE_FAULT_SEED replays one,
// FIELDGATE_SOAK=1 runs the long version (more iterations).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/fault/seq_checker.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_tap.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace fieldgate::testing {

/// True under FIELDGATE_SOAK=1 (the `soak` ctest label).
[[nodiscard]] bool soak();
/// `short_count`, or `soak_count` under FIELDGATE_SOAK=1.
[[nodiscard]] int iterations(int short_count, int soak_count);
/// FIELDGATE_FAULT_SEED if set, else a fresh one; printed so a failure can be replayed.
[[nodiscard]] std::uint64_t fault_seed(const std::string& scenario);

struct RigOptions {
  int qos = 1;
  std::string durability = "normal";
  int meters = 2;
  int points = 12;                     // float32 input registers 0, 2, … per meter
  std::string poll_interval = "20ms";  // 2 × 12 points / 20 ms = 1200 readings/s
  std::string keepalive = "2s";
  bool clean_session = true;
  bool persistent_broker = false;
  std::string store_extra;    // more [store] lines
  std::string mqtt_extra;     // more [mqtt] lines
  std::string db_dir;         // "" = the rig's scratch dir
  std::string extra_devices;  // more [[devices]] (TOML)
};

/// Figures of one scenario, summed over its iterations (for docs/RELIABILITY.md).
struct Tally {
  int iterations = 0;
  std::uint64_t accepted = 0, received = 0, lost = 0, lost_by_broker = 0, dropped = 0,
                duplicates = 0, reordered = 0, reordered_by_broker = 0;
  void add(const CheckReport& r);
  /// One greppable line: "FAULT-FIGURES scenario=… iterations=… …".
  void print(const std::string& scenario, std::uint64_t seed) const;
};

class FaultRig {
 public:
  explicit FaultRig(RigOptions options = {});
  ~FaultRig();
  FaultRig(const FaultRig&) = delete;
  FaultRig& operator=(const FaultRig&) = delete;

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_.path(); }
  [[nodiscard]] std::string db() const { return db_; }
  [[nodiscard]] Mosquitto& broker() { return *broker_; }
  [[nodiscard]] TcpProxy& link() { return *proxy_; }
  [[nodiscard]] MqttTap& tap() { return tap_; }
  [[nodiscard]] Subscriber& subscriber() { return *sub_; }
  /// The subscriber's link: what the broker sent it, in order (seq_checker.hpp note 5).
  [[nodiscard]] MqttTap& subscriber_link() { return sub_tap_; }

  void start_gateway();
  void kill_gateway();  // SIGKILL
  /// SIGTERM; the exit code (0 expected).
  int stop_gateway();
  [[nodiscard]] bool gateway_running();
  /// SIGKILL the broker (after telling the tap) and start it again after `down`.
  void kill_broker(std::chrono::milliseconds down);
  /// Distinct seqs the subscriber has received so far (counting `plus` as received).
  [[nodiscard]] std::size_t received_distinct(const std::set<std::uint64_t>& plus = {}) const;
  /// Waits (bounded) until the subscriber received `n` more distinct seqs than now.
  bool wait_progress(std::size_t n, std::chrono::milliseconds timeout);

  /// The store's account, read with `fieldgate queue` (gateway stopped or not).
  [[nodiscard]] Accepted accepted();
  /// Ends the run: stops the gateway (SIGTERM, exit 0 expected); while
  /// readings are still buffered (published too late for the drain), runs it
  /// again in drain mode until the subscriber has caught up (at most 3
  /// times); waits for the subscriber and checks, with what the broker sent
  /// the subscriber for the order (seq_checker.hpp note 5). `excused`: seqs
  /// confirmed by a killed broker (note 3). Faults must be cleared first.
  CheckReport finish(const std::set<std::uint64_t>& excused = {});
  /// The gateways' logs so far (the last 6000 characters unless `whole`).
  [[nodiscard]] std::string gateway_log(bool whole = false) const;
  /// Gateway starts finish() needed to deliver what a stop left buffered
  /// (each is a new process, so a new MQTT session).
  [[nodiscard]] int drain_restarts() const { return drain_restarts_; }

 private:
  /// `drain`: the meters polled once an hour and no extra devices, so a run
  /// delivers the buffer without adding much to it.
  void write_config(bool drain = false);
  [[nodiscard]] std::uint64_t skipped_count() const;

  RigOptions options_;
  ScratchDir dir_;
  std::string db_;
  std::filesystem::path config_;
  std::vector<std::unique_ptr<ChildProcess>> meters_;
  std::vector<int> meter_ports_;
  std::unique_ptr<Mosquitto> broker_;
  MqttTap tap_;
  std::unique_ptr<TcpProxy> proxy_;
  MqttTap sub_tap_;
  std::unique_ptr<TcpProxy> sub_proxy_;  // never faulted; outlives the subscriber
  std::unique_ptr<Subscriber> sub_;
  std::unique_ptr<ChildProcess> gateway_;
  std::optional<int> gateway_exit_;  // once it has exited (and was reaped)
  std::string old_logs_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> skipped_;  // Accepted::skipped
  int drain_restarts_ = 0;
};

}  // namespace fieldgate::testing
