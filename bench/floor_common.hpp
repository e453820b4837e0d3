// Shared parts of the bare publishers that measure an MQTT client library's
// floor (floor_paho.cpp, floor_mosquitto.cpp; docs/PERFORMANCE.md, "Floors"):
// the options, the in-flight window and the one JSON line each prints.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace fieldgate::bench::floor {

/// What one run publishes, and how many messages it keeps unconfirmed.
struct FloorOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  int qos = 1;
  std::uint64_t count = 200000;
  std::size_t window = 1000;  // fieldgate's default mqtt.max_inflight
  std::size_t payload = 55;   // bytes; the bare-publisher figure
  int topics = 500;           // per-point topics, as the fleet's 10 x 50
  double timeout_s = 120;     // bound on the publishing phase
};

/// Parses the command line into `options`; false (after printing why) on a
/// bad one or --help.
inline bool parse_options(int argc, char** argv, const char* what, FloorOptions& options) {
  CLI::App app{what};
  app.add_option("--host", options.host);
  app.add_option("--port", options.port)->required();
  app.add_option("--qos", options.qos)->check(CLI::Range(0, 1));
  app.add_option("--count", options.count)->check(CLI::Range(1, 100000000));
  app.add_option("--window", options.window)->check(CLI::Range(1, 65000));
  app.add_option("--payload", options.payload, "bytes")->check(CLI::Range(1, 100000));
  app.add_option("--topics", options.topics)->check(CLI::Range(1, 100000));
  app.add_option("--timeout", options.timeout_s, "seconds")->check(CLI::Range(1.0, 3600.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return false;
  }
  return true;
}

/// "bench/floor/m003/r017": per-point topics like the fleet's, under the
/// bench subscriber's filter.
inline std::vector<std::string> floor_topics(int n) {
  std::vector<std::string> topics;
  for (int i = 0; i < n; ++i) {
    topics.push_back(fmt::format("bench/floor/m{:03}/r{:03}", i / 50, i % 50));
  }
  return topics;
}

/// At most `limit` messages unconfirmed: the publishing thread takes a slot
/// per message, the library's completion callback gives it back. No wait per
/// message, only while the window is full.
class Window {
 public:
  explicit Window(std::size_t limit) : limit_(limit) {}

  /// Blocks while the window is full; false once `deadline` passed.
  bool acquire(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_until(lock, deadline, [this] { return outstanding_ < limit_; })) {
      return false;
    }
    ++outstanding_;
    return true;
  }

  /// A publish the library refused: its slot back, counted as failed.
  void cancel() { complete(false); }

  /// From the library's thread: a message completed (acknowledged at QoS 1,
  /// written at QoS 0), or failed.
  void complete(bool ok) {
    {
      std::lock_guard lock(mutex_);
      --outstanding_;
      ++(ok ? done_ : failed_);
    }
    changed_.notify_all();
  }

  /// Blocks until nothing is outstanding; false once `deadline` passed.
  bool drain(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [this] { return outstanding_ == 0; });
  }

  std::uint64_t done() {
    std::lock_guard lock(mutex_);
    return done_;
  }
  std::uint64_t failed() {
    std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t limit_;
  std::size_t outstanding_ = 0;  // guarded by mutex_, as are the counts
  std::uint64_t done_ = 0;
  std::uint64_t failed_ = 0;
};

/// User + system CPU of the whole process (every thread, the library's too).
inline double process_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Publishes options.count messages through `publish(topic, payload)` (false:
/// the library refused it) within the window, waits for the last completion,
/// and prints one JSON line: the rate and the CPU per 1M over the publishing
/// phase (connect and disconnect left out). Returns the exit status: 0, or 2
/// when not every message completed within options.timeout_s.
template <typename Publish>
int run_floor(const char* client, const FloorOptions& options, Window& window, Publish publish) {
  const auto topics = floor_topics(options.topics);
  const std::string payload(options.payload, 'x');
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(options.timeout_s));
  const auto cpu0 = process_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  bool timed_out = false;
  for (std::uint64_t i = 0; i < options.count; ++i) {
    if (!window.acquire(deadline)) {
      timed_out = true;
      break;
    }
    if (!publish(topics[i % topics.size()], payload)) window.cancel();
  }
  if (!window.drain(deadline)) timed_out = true;
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto cpu = process_cpu_s() - cpu0;
  const auto done = window.done();
  std::printf(
      "{\"client\": \"%s\", \"qos\": %d, \"window\": %zu, \"payload_bytes\": %zu, "
      "\"messages\": %llu, \"failed\": %llu, \"seconds\": %.3f, \"cpu_s\": %.3f, "
      "\"rps\": %.0f, \"cpu_s_per_1m\": %.2f, \"timed_out\": %s}\n",
      client, options.qos, options.window, options.payload, static_cast<unsigned long long>(done),
      static_cast<unsigned long long>(window.failed()), seconds, cpu,
      static_cast<double>(done) / seconds, cpu / static_cast<double>(done > 0 ? done : 1) * 1e6,
      timed_out ? "true" : "false");
  std::fflush(stdout);
  return timed_out || done != options.count ? 2 : 0;
}

}  // namespace fieldgate::bench::floor
