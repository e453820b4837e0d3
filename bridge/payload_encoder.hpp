// The payload-format seam: an encoder turns the readings of one route into an
// MQTT message (topic, bytes, QoS, retain), and a registry maps the format
// names of the configuration (`payload = "json"`) to encoders. The registry is
// the one list of formats: the loader accepts the names it holds (formats(),
// passed to load_config() in its catalog). Adding a format is one file with
// its encoder and one line in make_default_encoders() (bridge/encoders.cpp);
// see docs/ARCHITECTURE.md.
//
// Threads: encoders run on the forwarder thread only, one message at a time,
// so an encoder may keep state across messages (a sequence number), started
// over by start_session() at each connect.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bridge/topics.hpp"
#include "config/config.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {

/// One message planned from a run of peeked readings.
struct OutgoingMessage {
  Route route;            // topic, QoS, retain as resolved; an encoder may change them
  std::string payload;    // the bytes
  std::size_t first = 0;  // index of its first reading in the rows
  std::size_t count = 1;  // readings it carries
  std::string refusal;    // set when no encoder could render it: dead-lettered
};

/// Renders messages in one payload format.
class PayloadEncoder {
 public:
  virtual ~PayloadEncoder() = default;

  /// How many readings, from rows.front() on, the next message carries
  /// (at least 1). All of `rows` share the route of rows.front() only as far
  /// as the encoder's own grouping says. 0 holds the message back for the
  /// next peek: allowed only when `may_wait` (the rows were cut by the peek's
  /// size and other messages go out first), e.g. for a device poll that may
  /// continue past the end of `rows`.
  [[nodiscard]] virtual std::size_t group(std::span<const Reading> rows, bool may_wait) const {
    (void)rows;
    (void)may_wait;
    return 1;
  }

  /// Writes message.payload for `readings` (what group() chose); may adjust
  /// message.route. Runs once per message on the hot path: write into the
  /// payload directly, no copies per reading.
  virtual void encode(std::span<const Reading> readings, OutgoingMessage& message) = 0;

  /// A new MQTT session begins (per-session state starts over).
  virtual void start_session() {}

  /// True for a format with one message per device poll (device-json): its
  /// routes use the device topic and device-level settings only, and per-point
  /// topic, qos and retain are refused at load. False: one message per reading.
  [[nodiscard]] virtual bool per_device() const noexcept { return false; }
};

/// The encoder of a format with one message per reading, whose payload is
/// `Render(reading)` (json, value).
template <std::string (*Render)(const Reading&)>
class PerReadingEncoder final : public PayloadEncoder {
 public:
  void encode(std::span<const Reading> readings, OutgoingMessage& message) override {
    message.payload = Render(readings.front());
  }
};

/// Format name → encoder, built at start-up and owned by the forwarder.
class EncoderRegistry {
 public:
  /// Registers `encoder` under `name`; a name registered before is replaced.
  void add(std::string name, std::unique_ptr<PayloadEncoder> encoder);
  /// The encoder for `name`, or nullptr.
  [[nodiscard]] PayloadEncoder* find(std::string_view name) const noexcept;
  /// Tells every encoder a session begins.
  void start_session();
  /// Every format, in registration order: what `payload = "..."` may name
  /// (for the catalog given to config::load_config()).
  [[nodiscard]] std::vector<config::PayloadFormat> formats() const;

 private:
  std::vector<std::pair<std::string, std::unique_ptr<PayloadEncoder>>> entries_;
};

/// The built-in formats: "json", "value", "device-json".
[[nodiscard]] EncoderRegistry make_default_encoders();

}  // namespace fieldgate::bridge
