// Readings per second to the broker, counted at an independent subscriber:
// the whole gateway path in process (synthetic driver → Scheduler → Store →
// Forwarder, wired as `fieldgate run` wires them) and the plain-Paho baseline.
#pragma once

#include <cstdint>
#include <string>

namespace fieldgate::bench {

struct RateOptions {
  std::string broker;
  int qos = 1;
  int subscriber_qos = -1;  // -1: the publisher's QoS
  std::uint64_t count = 100000;
  int window = 1000;     // in-flight messages (QoS 0/1); QoS 2 uses window_qos2
  int window_qos2 = 20;  // mosquitto's default max_inflight_messages
  std::string db;        // e2e only: the store's file
  bool durability_full = false;
  bool spill = false;  // [store] mode = "spill"
};

struct RateResult {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  double seconds = 0;  // first to last message at the subscriber
  double rate = 0;     // messages per second over that span
  double avg_payload = 0;
};

/// A plain Paho publisher (the forwarder's client settings and window), no store.
[[nodiscard]] RateResult run_baseline(const RateOptions& options);

/// Synthetic readings through Scheduler, Store and Forwarder.
[[nodiscard]] RateResult run_e2e(const RateOptions& options);

}  // namespace fieldgate::bench
