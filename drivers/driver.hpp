// The Driver interface: how the gateway polls one field device, whatever its
// protocol. Modbus TCP/RTU, serial instruments and simulators all plug in here
// through the DriverRegistry (registry.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/reading.hpp"

namespace fieldgate::drivers {

using Clock = std::chrono::steady_clock;

class RegisterCache;                      // drivers/register_cache.hpp
enum class RegisterTable : std::uint8_t;  // drivers/register_cache.hpp

/// What the gateway knows about a device's health, for `poll`, logs and status.
struct DeviceHealth {
  bool connected = false;
  int consecutive_failures = 0;   // polls in a row in which no request succeeded
  std::string last_error;         // "" when the last poll was good
  std::int64_t last_good_ms = 0;  // Unix ms of the last poll with a good answer, 0 = never
  std::uint64_t polls = 0;
  std::uint64_t requests = 0;  // transactions sent (retries included)
  std::uint64_t timeouts = 0;
  std::uint64_t exceptions = 0;         // Modbus exception responses
  std::uint64_t bad_responses = 0;      // CRC errors, wrong length, garbage
  std::uint64_t connection_errors = 0;  // failed connects and resets
  // Framed drivers (serial-line): frames received (good or not), bytes thrown
  // away outside any frame, and the last refused frame, escaped, with the
  // reason; refused frames are counted in bad_responses.
  std::uint64_t frames = 0;
  std::uint64_t discarded_bytes = 0;
  std::string last_bad_frame;
  // What the driver found out about its device by asking it (the SunSpec
  // models and where they are), for `poll` and `check --probe`; "" for none.
  std::string discovered;
};

/// A frame exactly as a device sent it, for `fieldgate poll --raw`.
struct RawFrame {
  std::string device;
  std::int64_t ts_ms = 0;  // Unix ms when it was read
  std::string bytes;       // escaped: "$HR,72*5A\r\n", "\x02..."
  std::string verdict;     // "ok", or why it was refused or discarded
};
using RawFrameSink = std::function<void(const RawFrame&)>;

/// How a write ended. kRejected: refused before any bus traffic (the value does
/// not fit the point's type, the point is not writable); kFailed: the device
/// refused it or did not answer (see `quality`).
enum class WriteStatus { kOk, kRejected, kFailed };

struct WriteResult {
  WriteStatus status = WriteStatus::kOk;
  Quality quality = Quality::kGood;  // kFailed: timeout, exception, no_connection...
  std::string error;                 // why not ok; when ok, a note on the read-back if any
  /// kOk: the point read back after the write (scaled, as a reading would
  /// show it); monostate when the driver cannot read it back.
  Value readback;
};

/// Small facts a driver learns from its device and keeps across restarts
/// (the SunSpec model layout), each a line of text under (device, key).
/// `fieldgate run` keeps them in the store's meta; other commands give none.
/// Thread-safe: the drivers of every worker share one.
class DeviceNotes {
 public:
  virtual ~DeviceNotes() = default;
  /// The text last saved under (device, key), or nullopt.
  [[nodiscard]] virtual std::optional<std::string> load(std::string_view device,
                                                        std::string_view key) = 0;
  /// Keeps `text` under (device, key), replacing what was there.
  virtual void save(std::string_view device, std::string_view key, std::string text) = 0;
};

/// One field device. Not thread-safe: a device is only ever touched by the one
/// worker that owns its channel.
class Driver {
 public:
  virtual ~Driver() = default;

  /// The device's name from the configuration.
  [[nodiscard]] virtual const std::string& device() const noexcept = 0;

  /// Devices with the same channel share a medium (an RS-485 port, a TCP
  /// endpoint) and are polled in turn by one worker thread.
  [[nodiscard]] virtual const std::string& channel() const noexcept = 0;

  /// When the earliest of this device's point groups is next due.
  [[nodiscard]] virtual Clock::time_point next_due() const noexcept = 0;

  /// Reads every point group due at `now` and returns one Reading per point
  /// read, with quality flags for the failed ones. Never throws. `force`
  /// reads every group regardless of its due time (`poll --once`).
  virtual Batch poll(Clock::time_point now, bool force = false) = 0;

  /// Releases the connection; the next poll reopens it.
  virtual void close() noexcept = 0;

  [[nodiscard]] virtual const DeviceHealth& health() const noexcept = 0;

  /// The requests this device sends, one line each, for `fieldgate check`.
  [[nodiscard]] virtual std::vector<std::string> describe_plan() const = 0;

  /// The most requests the next poll() may send, each of which may wait out
  /// the device's response timeout on every attempt: what the bus worker
  /// promises the watchdog. Default: one per line of the plan.
  [[nodiscard]] virtual std::size_t max_requests_per_poll() const { return describe_plan().size(); }

  /// Asks a framed driver to hand every frame it reads to `sink` (from the
  /// worker's thread, during poll()). Set before polling starts. Drivers
  /// without frames of their own (Modbus: libmodbus does the framing) ignore it.
  virtual void set_raw_frame_sink(RawFrameSink sink) { (void)sink; }

  /// The raw registers this device's polls keep for the Modbus server, or
  /// null for a driver without registers (default).
  [[nodiscard]] virtual std::shared_ptr<const RegisterCache> register_cache() const {
    return nullptr;
  }

  /// Writes `value` (in the point's units, as readings show it) to `point`,
  /// then reads the point back. Called by the worker that owns the channel,
  /// between polls. Never throws. The caller has checked that the point is
  /// writable and the value within its limits; the driver still refuses what
  /// it cannot encode, before any bus traffic. Default: not supported.
  virtual WriteResult write(const std::string& point, const Value& value) {
    (void)value;
    return {WriteStatus::kRejected,
            Quality::kGood,
            "driver of device \"" + device() + "\" cannot write (point " + point + ")",
            {}};
  }

  /// Reads `out.size()` raw words of `table` from `start` (a bit as a word 0
  /// or 1), for a master's read the Modbus server passes through. Called by
  /// the worker that owns the channel, between polls, like write(). Never
  /// throws. The outcome as a write's (kOk, or kFailed with the quality);
  /// `out` is filled only when kOk. Default: not supported (kRejected).
  virtual WriteResult read_registers(RegisterTable table, std::uint16_t start,
                                     std::span<std::uint16_t> out) {
    (void)table;
    (void)start;
    (void)out;
    return {WriteStatus::kRejected,
            Quality::kGood,
            "driver of device \"" + device() + "\" cannot read registers",
            {}};
  }
};

}  // namespace fieldgate::drivers
