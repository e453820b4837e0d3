// Typed configuration of a fieldgate instance, as loaded from TOML by load_config().
//
// Every struct here is plain data: defaults are the values a user gets when the
// key is absent, and the loader (loader.cpp) is the only place that knows TOML.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fieldgate::config {

using Duration = std::chrono::milliseconds;

/// Where a value came from in the configuration file (1-based, 0 when unknown).
struct SourcePos {
  int line = 0;
  int column = 0;
};

enum class Parity { kNone, kEven, kOdd };

/// Modbus data model tables.
enum class RegisterKind { kCoil, kDiscreteInput, kHolding, kInput };

/// How the registers (or bits) of a point are turned into a value.
/// kBit is one bit of a 16-bit holding or input register (`bit = 0..15`).
enum class ValueType {
  kBool,
  kBit,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kFloat32,
  kFloat64,
  kString,
};

/// Byte order of a multi-byte value: A is the most significant byte.
/// ABCD = big-endian (Modbus standard), CDAB = word-swapped,
/// BADC = byte-swapped within words, DCBA = little-endian.
enum class ByteOrder { kABCD, kCDAB, kBADC, kDCBA };

enum class SerialMode { kRs232, kRs485 };

struct GatewayConfig {
  std::string name = "fieldgate";
  std::string log_level = "info";  // trace|debug|info|warn|error
};

/// One RS-485 (or RS-232) line, shared by every Modbus RTU device that names it.
struct BusConfig {
  std::string name;
  std::string port;  // e.g. /dev/ttyUSB0
  int baud = 9600;
  Parity parity = Parity::kNone;
  int data_bits = 8;
  int stop_bits = 1;
  SerialMode mode = SerialMode::kRs232;  // kRs485 uses the kernel's RS-485 ioctl
  /// Silence enforced between the end of one transaction and the next request.
  /// nullopt: the Modbus t3.5 for this baud rate (3.5 characters of 11 bits,
  /// 1.75 ms above 19200 baud).
  std::optional<Duration> inter_frame_delay;
  SourcePos pos;
};

struct PointConfig {
  std::string name;
  RegisterKind kind = RegisterKind::kHolding;
  int address = 0;  // 0-based protocol address
  ValueType type = ValueType::kUInt16;
  int count = 0;  // registers, only for type string (required there)
  int bit = 0;    // only for type bit: 0 = least significant
  double scale = 1.0;
  double offset = 0.0;
  std::string unit;
  std::optional<Duration> interval;     // overrides the device's poll_interval
  std::optional<ByteOrder> byte_order;  // overrides the device's byte_order
  SourcePos pos;

  /// Effective settings after applying the device defaults.
  [[nodiscard]] ByteOrder order_or(ByteOrder device_default) const noexcept {
    return byte_order.value_or(device_default);
  }
};

struct DeviceConfig {
  std::string name;
  std::string driver;  // registry name: "modbus-tcp", "modbus-rtu", ...
  // modbus-tcp
  std::string host;
  int port = 502;
  // modbus-rtu
  std::string bus;  // name of a [[buses]] entry
  int unit_id = 1;
  Duration poll_interval{1000};
  Duration response_timeout{1000};
  Duration byte_timeout{500};
  int retries = 1;  // extra attempts of a failed request within one poll
  ByteOrder byte_order = ByteOrder::kABCD;
  /// Largest number of unused registers (or bits) read through to merge two
  /// points into one request. 0 reads only registers that belong to points.
  int max_gap = 16;
  /// Largest request in registers (holding/input, at most 125) and bits
  /// (coils/discrete inputs, at most 2000), for devices with smaller buffers.
  int max_registers = 125;
  int max_bits = 2000;
  /// One request per point, for devices that reject multi-point reads.
  bool single_point_reads = false;
  /// Cap of the exponential back-off applied to a failing device.
  Duration backoff_max{60000};
  std::vector<PointConfig> points;
  SourcePos pos;

  [[nodiscard]] Duration interval_of(const PointConfig& p) const noexcept {
    return p.interval.value_or(poll_interval);
  }
};

struct Config {
  std::string path;  // the file it was loaded from, for messages
  GatewayConfig gateway;
  std::vector<BusConfig> buses;
  std::vector<DeviceConfig> devices;

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

/// Reads, substitutes ${ENV} / ${ENV:-default}, and validates a configuration file.
/// Throws ConfigError listing every problem found.
[[nodiscard]] Config load_config(const std::string& path);

/// The same from a string; `path` is only used in messages.
[[nodiscard]] Config load_config_string(std::string_view toml, const std::string& path);

// Names as spelled in TOML, shared by the loader, `fieldgate check` and `poll`.
[[nodiscard]] std::string_view to_string(RegisterKind k) noexcept;
[[nodiscard]] std::string_view to_string(ValueType t) noexcept;
[[nodiscard]] std::string_view to_string(ByteOrder o) noexcept;
[[nodiscard]] std::string_view to_string(Parity p) noexcept;
[[nodiscard]] std::string_view to_string(SerialMode m) noexcept;

/// Registers a value of this type occupies (1 for bool/bit, `count` for strings).
[[nodiscard]] int register_count(ValueType t, int string_count) noexcept;

/// Is this a bit table (coils, discrete inputs)?
[[nodiscard]] constexpr bool is_bit_kind(RegisterKind k) noexcept {
  return k == RegisterKind::kCoil || k == RegisterKind::kDiscreteInput;
}

}  // namespace fieldgate::config
