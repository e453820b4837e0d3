// ModbusServer: fieldgate as a Modbus TCP server ([modbus_server],
// docs/MODBUS_SERVER.md). Other masters read the registers fieldgate polls,
// from the drivers' RegisterCaches, without touching the bus: the server never
// waits for a poll and a poll never waits for it (a copy under the cache's lock).
//
// One thread, poll(2) over the listening socket, a wake-up eventfd and the
// clients. Every client is bounded: max_clients connections (more are
// accepted and closed at once, so a flood never fills the backlog), one frame
// buffer of 260 bytes, one response at a time, idle_timeout of silence, and a
// frame must be complete within kFrameTimeout of its first byte. A frame
// that is not Modbus TCP closes the connection. Everything is counted
// (ModbusServerStats) and logged at most once per 10 s per kind.
//
// Writes, and with `passthrough` reads the caches cannot answer, go to the
// device's bus worker (ModbusServerBus: the command router's checks, queue
// and audit log) and never block this thread: the client that sent one is
// not read until its answer comes back (one request in flight per client),
// at most kMaxBusRequests are in flight in all (more get exception 0x06),
// and the other clients are served meanwhile (modbus_server_bus.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "drivers/driver.hpp"
#include "gateway/command_router.hpp"
#include "gateway/modbus_frame.hpp"

namespace fieldgate::gateway {

/// A frame begun must be complete within this (a client dribbling bytes
/// holds its connection this long at most).
inline constexpr std::chrono::seconds kFrameTimeout{5};
/// Requests on the devices' buses at once, all clients together (each client
/// has at most one): MQTT `/set` commands share the buses' queues
/// (kMaxQueuedWrites each), and masters must not take all of it.
inline constexpr std::size_t kMaxBusRequests = 8;
/// A client whose bus answer has not come back after this is closed (a
/// guard: every queued request is answered within its deadline and one bus
/// transaction, unless memory ran out).
inline constexpr std::chrono::minutes kBusAnswerLimit{5};

/// How the server reaches the devices' buses. In `fieldgate run`, the
/// command router: writes take the MQTT `/set` path from its checks on.
struct ModbusServerBus {
  /// A write (CommandRouter::submit_write): replies exactly once.
  std::function<void(CommandRouter::ExternalWrite)> write;
  /// A passed-through read (CommandRouter::submit_job).
  std::function<Submitted(WriteCommand)> job;
};

/// What the server did since it started.
struct ModbusServerStats {
  std::uint64_t clients = 0;     // connected now
  std::uint64_t accepted = 0;    // connections taken
  std::uint64_t refused = 0;     // closed at once: address not allowed
  std::uint64_t over_limit = 0;  // closed at once: max_clients reached
  std::uint64_t closed_idle = 0;
  std::uint64_t closed_bad_frame = 0;  // not Modbus TCP, or a frame not finished in time
  std::uint64_t requests = 0;
  /// Requests by function code 1, 2, 3, 4, 5, 6, 15, 16, and any other.
  std::array<std::uint64_t, 9> by_function{};
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;    // a register not polled
  std::uint64_t cache_stale = 0;     // polled, older than max_age
  std::uint64_t exceptions = 0;      // exception responses sent
  std::uint64_t in_flight = 0;       // requests on a bus now
  std::uint64_t writes_ok = 0;       // confirmed by the device
  std::uint64_t writes_refused = 0;  // never reached a bus: no writable point, bad value
  std::uint64_t writes_failed = 0;   // the device refused or did not answer, or expired
  std::uint64_t passthrough_ok = 0;
  std::uint64_t passthrough_failed = 0;  // the device did not answer (0x0B)
  std::uint64_t busy = 0;                // exception 0x06: too many requests on the buses
  std::uint64_t answers_dropped = 0;     // the client left before its bus answer came

  /// Counts one request answered at once, or sent to a bus (`answer.bus`).
  void count(const Answer& answer) noexcept;
};

[[nodiscard]] nlohmann::json to_json(const ModbusServerStats& stats);

/// The served unit ids of `caches` (the drivers' register caches): an
/// explicit `[modbus_server.units]` entry, else a bus device's own unit id.
/// Throws std::runtime_error when two devices would answer for one id, or a
/// listed device keeps no registers (start-up and reload only).
[[nodiscard]] std::shared_ptr<const ServedUnits> served_units(
    const config::ModbusServerConfig& config,
    const std::vector<std::shared_ptr<const drivers::RegisterCache>>& caches);

class ModbusServer {
 public:
  /// Binds and listens on `config.listen`; throws std::runtime_error if it
  /// cannot (start-up). Serves nothing until set_units().
  explicit ModbusServer(config::ModbusServerConfig config);
  /// Stops the thread and closes every connection.
  ~ModbusServer();
  ModbusServer(const ModbusServer&) = delete;
  ModbusServer& operator=(const ModbusServer&) = delete;

  /// Starts the server's thread.
  void start();
  /// The units to serve from now on (after a start or a reload).
  void set_units(std::shared_ptr<const ServedUnits> units);
  /// Where writes and passed-through reads go; until set, they get 0x0B
  /// (writes only after the frame's own checks).
  void set_bus(ModbusServerBus bus);
  [[nodiscard]] ModbusServerStats stats() const;
  /// The port it listens on (the configured one, or the kernel's choice for 0).
  [[nodiscard]] int port() const noexcept { return port_; }

 private:
  struct Loop;  // the thread's state: sockets, clients, counters

  int port_ = 0;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace fieldgate::gateway
