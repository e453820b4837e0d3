// Private to bridge/: the forwarder's reconnect back-off wait, cut short when
// the broker comes back. While the broker is away the full MQTT connects keep
// their exponential back-off (reconnect_min … reconnect_max); between them a
// bare TCP connect to the broker's port (one SYN, no TLS, no MQTT, closed at
// once) about once a second notices the port opening again, so the next MQTT
// connect follows within about a second instead of up to reconnect_max later.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace fieldgate::bridge::detail {

/// How often the wait probes the broker's port: one SYN per interval.
inline constexpr std::chrono::milliseconds kPortProbeInterval{1000};

/// Where and how often to probe.
struct PortProbeTarget {
  std::string host;  // resolved once per wait, like Paho does per connect
  int port = 0;
  std::chrono::milliseconds interval = kPortProbeInterval;
};

/// How a back-off wait ended.
enum class WaitEnd { kElapsed, kPortOpened, kStopped };

/// Waits `delay` on `cv` unless `stopping` (read under `mutex`) turns true
/// first (kStopped, at once: the thread only ever waits on `cv`). With a
/// `probe`, also starts a non-blocking TCP connect to it every interval and
/// returns kPortOpened when the port accepts after having been seen closed
/// (refused or unanswered); a port open from the start (a load balancer, a
/// broker refusing our credentials) does not end the wait and is not probed
/// again in it. Without a probe, or when the host cannot be resolved, it is
/// a plain wait. Never waits past `delay` (a DNS lookup aside).
[[nodiscard]] WaitEnd wait_for_broker(std::mutex& mutex, std::condition_variable& cv,
                                      const bool& stopping, std::chrono::milliseconds delay,
                                      const PortProbeTarget* probe);

}  // namespace fieldgate::bridge::detail
