// Typed configuration of a fieldgate instance, as loaded from TOML by load_config().
//
// Every struct here is plain data: defaults are the values a user gets when the
// key is absent, and the loader (loader.cpp) is the only place that knows TOML.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "config/modbus_server_config.hpp"
#include "config/publish_policy.hpp"
#include "config/sparkplug_config.hpp"
#include "core/serial_port.hpp"

namespace fieldgate::config {

using Duration = std::chrono::milliseconds;

/// Where a value came from in the configuration file (1-based, 0 when unknown).
struct SourcePos {
  int line = 0;
  int column = 0;
};

using fieldgate::Parity;

enum class SerialMode { kRs232, kRs485 };

using fieldgate::FlowControl;

/// A driver's own settings of a device or a point (drivers/<kind>/ derives
/// its types from these; config/ only carries them).
struct DeviceSettings {
  virtual ~DeviceSettings() = default;
};
struct PointSettings {
  virtual ~PointSettings() = default;
};

/// A driver's `Settings` of a device or point (`owner.settings`), or the
/// defaults when it carries none, as a configuration built by hand in a test.
template <class Settings, class Owner>
[[nodiscard]] const Settings& settings_of(const Owner& owner) noexcept {
  static const Settings kDefaults;  // never changed
  const auto* settings = dynamic_cast<const Settings*>(owner.settings.get());
  return settings != nullptr ? *settings : kDefaults;
}

/// For configurations built by hand (tests): replaces `owner`'s settings by a
/// copy that may be changed, and returns it. Valid until the next call.
template <class Settings, class Owner>
Settings& edit_settings_of(Owner& owner) {
  auto copy = std::make_shared<Settings>(settings_of<Settings>(owner));
  owner.settings = copy;
  return *copy;
}

/// What a value written to a point must be: the driver's schema says it, the
/// write keys (`min`, `allowed`) and the command checks use it.
enum class ValueKind { kNumber, kBool, kString };

struct GatewayConfig {
  std::string name = "fieldgate";
  std::string site;                // optional, for the {site} topic placeholder
  std::string log_level = "info";  // trace|debug|info|warn|error
  /// Where `model = "..."` is looked up, first match wins; empty: the
  /// defaults (config/model_library.hpp, default_model_dirs()).
  std::vector<std::string> model_dirs;
};

/// How hard the store works to survive a power cut (see bridge/store.hpp).
enum class Durability { kNormal, kFull };
/// What the store does when a bound (bytes, rows) is reached.
enum class Overflow { kDropOldest, kDropNewest };
/// Where readings wait for the broker's confirmation.
///  kDisk:  every reading is committed to the file (group commit) before it is sent.
///  kSpill: readings wait in a bounded memory queue and reach the file only if
///          not confirmed within spill_after, when the queue is full, or at
///          shutdown. A healthy uplink then writes almost nothing to the SD
///          card; a crash or power cut loses what was in memory.
enum class StoreMode { kDisk, kSpill };

/// [store]: the store-and-forward buffer.
struct StoreConfig {
  std::string path = "/var/lib/fieldgate/queue.db";
  Durability durability = Durability::kNormal;
  Duration commit_interval{1000};  // a reading is committed within this
  int commit_batch = 1000;         // ... or as soon as this many are pending
  std::uint64_t max_bytes = 256ULL * 1024 * 1024;
  std::uint64_t max_rows = 10'000'000;
  Duration max_age{7LL * 24 * 3600 * 1000};  // older readings are dropped (counted)
  Overflow overflow = Overflow::kDropOldest;
  StoreMode mode = StoreMode::kDisk;
  Duration spill_after{5000};               // kSpill: unconfirmed this long → file
  std::uint64_t spill_memory = 4ULL << 20;  // kSpill: memory queue bound (accounted bytes)
  /// The largest reading the store accepts (accounted size); larger ones are
  /// refused and counted. Not a [store] key: the loader copies [mqtt]
  /// max_payload here, since a larger reading could never be published.
  std::uint64_t max_reading = 256ULL * 1024;
  SourcePos pos;
};

/// How readings become MQTT payloads: a format the program registered (the
/// bridge's payload encoders, bridge/payload_encoder.hpp), named by
/// `payload = "..."` and resolved at load from the catalog load_config() gets
/// (config/driver_schema.hpp). config/ knows the default's name only.
struct PayloadFormat {
  std::string name = "json";
  /// One message per device poll instead of one per reading: published on the
  /// device topic, and only device-level topic, qos and retain apply.
  bool per_device = false;

  friend bool operator==(const PayloadFormat&, const PayloadFormat&) = default;
};

struct TlsConfig {
  std::string ca_file;    // empty: the system's CA store
  std::string cert_file;  // client certificate (optional, with key_file)
  std::string key_file;
  bool verify_hostname = true;  // only `verify_hostname = false` turns it off
};

/// The MQTT client library under the forwarder (bridge/mqtt_client.hpp):
/// Eclipse Paho C++ or libmosquitto.
enum class MqttClientLibrary { kPaho, kMosquitto };

/// [mqtt]: the uplink.
struct MqttConfig {
  MqttClientLibrary client = MqttClientLibrary::kPaho;
  /// tcp://host:port or mqtt://…, ssl://… or mqtts://… for TLS.
  std::string broker = "tcp://localhost:1883";
  std::string client_id;  // "" = "fieldgate-" + gateway name
  int protocol = 4;       // 4 = MQTT 3.1.1, 5 = MQTT 5
  Duration keepalive{30000};
  bool clean_session = true;
  Duration connect_timeout{10000};
  std::string username;
  /// Password from this file (first line), or, when empty, from
  /// $CREDENTIALS_DIRECTORY/<password_credential> if that exists.
  std::string password_file;
  std::string password_credential = "mqtt-password";
  bool tls_enabled = false;  // derived from the broker scheme
  TlsConfig tls;
  int max_inflight = 1000;  // messages published and not yet acknowledged
  /// Of those, at most this many at QoS 2. Brokers cap the QoS 2 messages a
  /// client may have open and disconnect it above the cap ("quota exceeded");
  /// mosquitto's default (max_inflight_messages) is 20. MQTT 3.1.1 cannot
  /// announce it, so it is a setting.
  int max_inflight_qos2 = 20;
  /// The largest payload published. A larger message is never sent: its
  /// readings go to the buffer's dead-letter table; readings that alone are
  /// larger are refused when acquired (StoreConfig::max_reading).
  std::uint64_t max_payload = 256ULL * 1024;
  Duration reconnect_min{1000};
  Duration reconnect_max{60000};
  Duration drain_timeout{5000};  // on shutdown, wait this long for acknowledgements
  /// Topic template for readings; placeholders {gateway} {site} {device} {point} {unit}.
  std::string topic = "fieldgate/{gateway}/{device}/{point}";
  /// Topic template for the messages of a per-device format such as device-json
  /// ({point} and {unit} not allowed).
  std::string device_topic = "fieldgate/{gateway}/{device}";
  /// Retained "online" (birth) / "offline" (Last Will); periodic stats go to
  /// "<status_topic>/stats" every status_interval.
  std::string status_topic = "fieldgate/{gateway}/status";
  std::string availability_topic = "fieldgate/{gateway}/{device}/availability";
  Duration status_interval{60000};
  int qos = 1;
  bool retain = false;
  PayloadFormat payload;  // "json" unless [mqtt] payload says otherwise
  // Commands to writable points: subscribed on "<point topic>/<command_suffix>",
  // answered on "<point topic>/<command_suffix>/<result_suffix>".
  int command_qos = 1;
  /// A command older than this (by its "ts", MQTT 5 expiry, or time since it
  /// arrived, queue wait included) is refused as expired, never executed late.
  Duration command_max_age{10000};
  /// A command payload larger than this is refused (a result says so) before
  /// it is parsed; 256 B .. 1 MiB.
  std::uint64_t command_max_size = 64 * 1024;
  std::string command_suffix = "set";
  std::string result_suffix = "result";
  SourcePos pos;
};

/// One RS-485 (or RS-232) line, shared by every device that names it
/// (`bus = "..."`, read by that device's driver).
struct BusConfig : SerialSettings {
  std::string name;
  SerialMode mode = SerialMode::kRs232;  // kRs485 uses the kernel's RS-485 ioctl
  /// Silence enforced between the end of one transaction and the next request.
  /// nullopt: the default of the driver that uses the line, for its baud rate.
  std::optional<Duration> inter_frame_delay;
  SourcePos pos;
};

/// A value of an `allowed` list, as written in TOML (integers become doubles).
using AllowedValue = std::variant<bool, double, std::string>;

/// Whether and how a point may be written from MQTT or `fieldgate write`.
/// Everything is read-only unless `writable` says otherwise. How the value
/// reaches the device (a function code, a template) is the driver's setting.
struct WriteConfig {
  bool writable = false;
  std::optional<double> min;  // in the point's units (after scale and offset)
  std::optional<double> max;
  std::vector<AllowedValue> allowed;  // empty: any value within min/max
};

/// A point's `homeassistant = { ... }`: what its Home Assistant entity
/// overrides of the derived ones (gateway/ha_discovery.hpp). Unset: derived.
struct HaEntityConfig {
  std::optional<std::string> component;  // sensor, binary_sensor, switch, number, select, text
  std::optional<std::string> name;       // the entity's name; default the point's
  std::optional<std::string> device_class;
  std::optional<std::string> state_class;
  std::optional<std::string> icon;             // "mdi:flash"
  std::optional<std::string> entity_category;  // "config" or "diagnostic"
  std::optional<bool> enabled_by_default;
};

/// A device's `homeassistant = { ... }`: its Home Assistant device block.
struct HaDeviceConfig {
  std::string manufacturer;  // "" = not sent
  std::string model;
};

/// [homeassistant]: MQTT discovery of every point as a Home Assistant entity.
struct HomeAssistantConfig {
  bool enabled = false;
  std::string discovery_prefix = "homeassistant";
  std::string node_id;  // "" = the gateway's name (normalised)
  /// A flood of "<prefix>/status" "online" messages republishes at most once this often.
  Duration resend_interval{30000};
  SourcePos pos;
};

struct PointConfig {
  std::string name;
  double scale = 1.0;
  double offset = 0.0;
  std::string unit;
  std::optional<Duration> interval;  // overrides the device's poll_interval
  /// Overrides the device's publish policy (the loader merges the point's
  /// keys into the device's); null: the device's. Out of line, like `write`.
  std::shared_ptr<const PublishPolicy> publish;
  // MQTT mapping; unset = the device's, then the [mqtt] defaults.
  std::optional<std::string> topic;
  std::optional<int> qos;
  std::optional<bool> retain;
  ValueKind value_kind = ValueKind::kNumber;  // beside `retain`: no padding between
  /// Its write settings (write()), null for a read-only point: held out of
  /// line because most points are read-only (10,000 points: 640 KB inline).
  std::shared_ptr<WriteConfig> write_settings;
  /// Its `homeassistant = { ... }`, null without one: most points have none,
  /// and the overrides are seven optional strings (with 10,000 points, 2.8 MB
  /// held inline for nothing).
  std::shared_ptr<const HaEntityConfig> homeassistant;
  std::shared_ptr<const PointSettings> settings;  // the driver's own, if it has any
  SourcePos pos;

  [[nodiscard]] const WriteConfig& write() const noexcept {
    static const WriteConfig kReadOnly;
    return write_settings ? *write_settings : kReadOnly;
  }
  /// Its write settings to fill in, made on first use; a copy of the point
  /// that shares them keeps its own.
  WriteConfig& edit_write() {
    if (!write_settings) {
      write_settings = std::make_shared<WriteConfig>();
    } else if (write_settings.use_count() > 1) {
      write_settings = std::make_shared<WriteConfig>(*write_settings);
    }
    return *write_settings;
  }
  void set_write(WriteConfig w) {
    const bool read_only = !w.writable && !w.min && !w.max && w.allowed.empty();
    write_settings = read_only ? nullptr : std::make_shared<WriteConfig>(std::move(w));
  }

  /// The Home Assistant overrides, all unset when it has none.
  [[nodiscard]] const HaEntityConfig& ha_overrides() const noexcept {
    static const HaEntityConfig kDerived;
    return homeassistant ? *homeassistant : kDerived;
  }
};

struct DeviceConfig {
  std::string name;
  std::string driver;  // the registry name written in `driver = "..."`
  /// `model = "..."`: the library model its points come from ("" = none);
  /// `model_path` is the file it was read from (docs/MODELS.md).
  std::string model;
  std::string model_path;
  Duration poll_interval{1000};
  Duration response_timeout{1000};
  /// Extra attempts of a failed request within one poll (the driver's schema
  /// reads it; the scheduler counts it in a poll's worst-case duration).
  int retries = 1;
  /// Cap of the exponential back-off applied to a failing device.
  Duration backoff_max{60000};
  /// Polls in a row without an answer after which the device's availability
  /// topic says "offline" (one answer makes it "online" again).
  int offline_after = 3;
  // MQTT mapping; unset = the [mqtt] defaults.
  std::optional<std::string> topic;         // template for this device's points
  std::optional<std::string> device_topic;  // template for a per-device format's messages
  std::optional<int> qos;
  std::optional<bool> retain;
  std::optional<PayloadFormat> payload;
  PublishPolicy publish;  // its points' publish policy unless a point overrides it
  HaDeviceConfig homeassistant;
  std::shared_ptr<const DeviceSettings> settings;  // the driver's own, if it has any
  std::vector<PointConfig> points;
  SourcePos pos;

  [[nodiscard]] Duration interval_of(const PointConfig& p) const noexcept {
    return p.interval.value_or(poll_interval);
  }
  [[nodiscard]] const PublishPolicy& policy_of(const PointConfig& p) const noexcept {
    return p.publish ? *p.publish : publish;
  }
};

struct Config {
  std::string path;  // the file it was loaded from, for messages
  GatewayConfig gateway;
  StoreConfig store;
  MqttConfig mqtt;
  bool has_mqtt = false;  // an [mqtt] table was given (`run` needs one)
  HomeAssistantConfig homeassistant;
  std::vector<BusConfig> buses;
  std::vector<DeviceConfig> devices;
  /// [modbus_server]: set when the table is given (config/modbus_server_config.hpp).
  std::optional<ModbusServerConfig> modbus_server;
  /// [sparkplug]: set when the table is given (config/sparkplug_config.hpp).
  std::optional<SparkplugConfig> sparkplug;

  [[nodiscard]] const BusConfig* find_bus(const std::string& name) const noexcept;
  [[nodiscard]] const DeviceConfig* find_device(const std::string& name) const noexcept;
};

/// One problem in a configuration file.
struct ConfigIssue {
  std::string file;
  SourcePos pos;
  std::string key_path;  // e.g. "devices[0].points[2].type" ("" for a syntax error)
  std::string message;   // what was expected and what was found

  /// "file:line:col: key_path: message", the form every tool of ours prints.
  [[nodiscard]] std::string to_string() const;
};

/// Thrown by load_config() with every problem found, not only the first.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigIssue> issues);
  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }

 private:
  std::vector<ConfigIssue> issues_;
};

class SchemaCatalog;  // config/driver_schema.hpp: the drivers' keys, the payload formats

/// Reads, substitutes ${ENV} / ${ENV:-default}, and validates a configuration
/// file; each device's own keys are read by the schema in `drivers` of the
/// driver it names. Throws ConfigError listing every problem found.
[[nodiscard]] Config load_config(const std::string& path, const SchemaCatalog& drivers);

/// The same from a string; `path` is only used in messages.
[[nodiscard]] Config load_config_string(std::string_view toml, const std::string& path,
                                        const SchemaCatalog& drivers);

// Names as spelled in TOML, shared by the loader, `fieldgate check` and `poll`.
[[nodiscard]] std::string_view to_string(Parity p) noexcept;
[[nodiscard]] std::string_view to_string(Durability d) noexcept;
[[nodiscard]] std::string_view to_string(Overflow o) noexcept;
[[nodiscard]] std::string_view to_string(StoreMode m) noexcept;
[[nodiscard]] std::string_view to_string(MqttClientLibrary c) noexcept;
[[nodiscard]] std::string_view to_string(SerialMode m) noexcept;
[[nodiscard]] std::string_view to_string(FlowControl f) noexcept;
[[nodiscard]] std::string_view to_string(PublishMode m) noexcept;

}  // namespace fieldgate::config
