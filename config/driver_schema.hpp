// The seam between the loader and the drivers: config/ reads what every device
// has (name, driver, intervals, the MQTT keys) and hands the rest of a
// [[devices]] table to the schema of the driver it names. config/ knows no
// driver by name; each drivers/<kind>/ folder provides a DriverSchema and the
// registry (drivers/registry.hpp) collects them into a SchemaCatalog that is
// passed to load_config(). The same catalog carries the payload formats
// `payload = "..."` may name: the program's caller fills them in from the
// bridge's encoders (gateway/command_startup.hpp), so config/ knows no format
// either.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace fieldgate::config {

class Section;      // config/toml_section.hpp: one TOML table with diagnostics
class Diagnostics;  // config/diagnostics.hpp

/// Reads the points of one device; made by DriverSchema::read_device, so it
/// can check each point against what the device said (a parse mode, a size).
class PointReader {
 public:
  virtual ~PointReader() = default;
  /// One [[devices.points]] entry: the common fields and the driver's own.
  [[nodiscard]] virtual PointConfig read(Section& s) = 0;
};

/// The checks across devices that a driver asks config/ to make.
class DeviceChecks {
 public:
  virtual ~DeviceChecks() = default;
  /// The device talks on this serial port alone: a second user (a [[buses]]
  /// entry or another device) is reported at `key_path`.
  virtual void claim_port(const std::string& port, const std::string& key_path,
                          SourcePos fallback) = 0;
  /// The device names a [[buses]] entry: reported at `key_path` when none has that name.
  virtual void need_bus(const std::string& bus, const std::string& key_path,
                        SourcePos fallback) = 0;
};

/// One driver family's part of the schema (one or more `driver = "..."` names).
class DriverSchema {
 public:
  virtual ~DriverSchema() = default;

  /// The `driver = "..."` values this schema reads, in the order `check` lists them.
  [[nodiscard]] virtual std::span<const std::string_view> names() const = 0;
  /// The keys of a [[devices]] / [[devices.points]] entry this schema reads
  /// besides the common ones; a device of another driver may not use them.
  [[nodiscard]] virtual std::span<const std::string_view> device_keys() const = 0;
  [[nodiscard]] virtual std::span<const std::string_view> point_keys() const = 0;
  /// Why one of these keys is refused on another driver's device or point
  /// ("only allowed for driver \"x\"").
  [[nodiscard]] virtual std::string foreign_key_message(std::string_view key) const = 0;

  /// Reads this driver's keys of a [[devices]] entry into `device` (its
  /// `settings`, and the common fields it owns such as `retries`), reporting to
  /// `s`. `driver` is "" when the entry's driver is missing or unknown: the
  /// catalog's first schema then reads the entry, so its keys are still checked.
  [[nodiscard]] virtual std::unique_ptr<PointReader> read_device(Section& s,
                                                                 std::string_view driver,
                                                                 DeviceConfig& device) const = 0;

  /// Whether `device` (as read_device() read it) finds its points on the
  /// device itself (a SunSpec device), so it needs no [[devices.points]].
  [[nodiscard]] virtual bool discovers_points(const DeviceConfig& device) const {
    (void)device;
    return false;
  }

  /// Checks that span devices, e.g. a serial port that only this device may use.
  virtual void check_device(const Config& config, const DeviceConfig& device,
                            const std::string& key_base, DeviceChecks& checks) const {
    (void)config, (void)device, (void)key_base, (void)checks;
  }
};

/// The schemas of every driver a program knows, and the payload formats it can
/// publish, each in registration order.
class SchemaCatalog {
 public:
  void add(std::shared_ptr<const DriverSchema> schema);
  /// Adds a payload format; a name added before is replaced in its place.
  void add_format(PayloadFormat format);

  /// The schema that reads `driver`, or nullptr.
  [[nodiscard]] const DriverSchema* find(std::string_view driver) const noexcept;
  /// The schema that reads entries whose driver is missing or unknown.
  [[nodiscard]] const DriverSchema* fallback() const noexcept;
  /// Every driver name, in registration order (for "expected one of ...").
  [[nodiscard]] std::span<const std::string_view> driver_names() const noexcept { return names_; }
  /// `common` followed by every schema's device (point) keys, each once.
  [[nodiscard]] std::vector<std::string_view> device_keys(
      std::span<const std::string_view> common) const;
  [[nodiscard]] std::vector<std::string_view> point_keys(
      std::span<const std::string_view> common) const;

  /// The payload format named `name`, or nullptr.
  [[nodiscard]] const PayloadFormat* find_format(std::string_view name) const noexcept;
  /// Every payload format name, in registration order (for "expected one of ...").
  [[nodiscard]] std::vector<std::string_view> format_names() const;

  /// Reports every key of `s` that another schema owns and `own` does not, with
  /// the owner's message; keys already reported (by `own`'s reader) are skipped.
  void reject_foreign_device_keys(Section& s, const DriverSchema& own) const;
  void reject_foreign_point_keys(Section& s, const DriverSchema& own) const;

 private:
  std::vector<std::shared_ptr<const DriverSchema>> schemas_;
  std::vector<std::string_view> names_;
  std::vector<PayloadFormat> formats_;
};

}  // namespace fieldgate::config
