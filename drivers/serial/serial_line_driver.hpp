// SerialLineDriver: one instrument on its own serial port that streams frames
// (a cardio monitor, a scale, a GPS) or answers a request with one. Frames are
// cut by the Framer, checked by verify_checksum(), parsed by the FrameParser;
// each point found in a good frame becomes a Reading.
//
// Design notes:
//  1. poll() never throws and never blocks longer than response_timeout
//     (request mode, or `poll --once` in streaming mode). Streaming polls read
//     only what has arrived.
//  2. A port that cannot be opened or that hangs up (USB adapter unplugged:
//     EIO, ENODEV, EOF) is closed and reopened by path at the next poll; the
//     failed poll yields kNoConnection readings and counts a failure, so the
//     scheduler's back-off spaces the attempts.
//  3. Nothing doubtful becomes a value: a frame with a bad checksum, an
//     oversize frame, a frame that does not parse, or a field that does not
//     convert is counted (bad_responses) and kept as last_bad_frame instead.
//  4. The first frame after (re)opening the port is usually the tail of a
//     frame cut in half: if it fails it is shown as partial, not counted.
//  5. Staleness (streaming, `stale_after`): no good frame for that long gives
//     one kTimeout reading per point with the error "stale: no frame for 12s",
//     repeated every stale_after while it lasts, and sets last_error. It is
//     not a failed poll: the scheduler would back off, and the frames after
//     the dropout would be read (and time-stamped) late.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/serial_port.hpp"
#include "drivers/driver.hpp"
#include "drivers/serial/framer.hpp"
#include "drivers/serial/parser.hpp"

namespace fieldgate::drivers {
class DriverRegistry;
}

namespace fieldgate::serial {

class SerialLineDriver final : public drivers::Driver {
 public:
  /// Throws std::invalid_argument for a pattern that does not compile.
  explicit SerialLineDriver(config::DeviceConfig device);

  [[nodiscard]] const std::string& device() const noexcept override { return device_.name; }
  [[nodiscard]] const std::string& channel() const noexcept override { return channel_; }
  [[nodiscard]] drivers::Clock::time_point next_due() const noexcept override { return next_due_; }
  Batch poll(drivers::Clock::time_point now, bool force) override;
  void close() noexcept override;
  [[nodiscard]] const drivers::DeviceHealth& health() const noexcept override { return health_; }
  [[nodiscard]] std::vector<std::string> describe_plan() const override;
  void set_raw_frame_sink(drivers::RawFrameSink sink) override { raw_sink_ = std::move(sink); }
  /// Sends the point's write_template with {value} filled in (scale and
  /// offset inverted; int as a whole number, bool as 1/0). No read-back: the
  /// device's next frames show the value.
  drivers::WriteResult write(const std::string& point, const Value& value) override;

 private:
  /// What one poll saw, to settle the health at its end.
  struct Tally {
    int good_frames = 0;  // frames that gave at least one good value
    int refused = 0;      // frames counted as bad
    bool failed = false;  // the port failed, or a request got no (good) reply
    bool stale = false;
    std::string problem;  // the last one, for last_error
  };

  bool ensure_open(std::int64_t ts_ms, Batch& out, Tally& tally);
  void lose_port(const std::string& why, std::int64_t ts_ms, Batch& out, Tally& tally);
  /// Reads what is there (waiting at most `wait`); false when the port was lost.
  bool read_into_frames(std::chrono::milliseconds wait, std::int64_t ts_ms, Batch& out,
                        Tally& tally, std::vector<bool>* seen);
  void handle(const Frame& frame, std::int64_t ts_ms, Batch& out, Tally& tally,
              std::vector<bool>* seen);
  void refuse(const Frame& frame, const std::string& why, std::int64_t ts_ms, Tally& tally);
  void raw(const std::string& bytes, std::string verdict, std::int64_t ts_ms);
  void fail_all(Quality quality, const std::string& error, std::int64_t ts_ms, Batch& out,
                const std::vector<bool>* only_missing = nullptr) const;
  void poll_streaming(drivers::Clock::time_point now, bool force, Batch& out, Tally& tally);
  void poll_request(Batch& out, Tally& tally);
  void settle(const Tally& tally);

  config::DeviceConfig device_;
  std::string channel_;
  SerialPort port_;
  Framer framer_;
  FrameParser parser_;
  drivers::DeviceHealth health_;
  drivers::RawFrameSink raw_sink_;
  drivers::Clock::time_point next_due_{};    // epoch: due at once
  bool synced_ = false;                      // a frame was framed since the port was opened
  drivers::Clock::time_point last_frame_{};  // last good frame, or when the port opened
  std::optional<drivers::Clock::time_point> stale_reported_;  // last stale report
};

/// Adds "serial-line" to the registry.
void register_driver(drivers::DriverRegistry& registry);

}  // namespace fieldgate::serial
