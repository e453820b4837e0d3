#include "drivers/modbus/schema.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/bounds.hpp"
#include "config/loader_uplink.hpp"
#include "config/loader_write.hpp"
#include "config/schema.hpp"
#include "config/toml_section.hpp"
#include "drivers/modbus/point_rules.hpp"
#include "drivers/modbus/settings.hpp"

namespace fieldgate::modbus {
namespace {

using namespace config;  // NOLINT(google-build-using-namespace): the schema's vocabulary

constexpr std::string_view kModbusTcp = "modbus-tcp";
constexpr std::string_view kModbusRtu = "modbus-rtu";
constexpr std::array<std::string_view, 2> kNames{kModbusTcp, kModbusRtu};
constexpr auto kDeviceKeys = std::to_array<std::string_view>(
    {"host", "port", "bus", "unit_id", "byte_timeout", "retries", "byte_order", "max_gap",
     "max_registers", "max_bits", "single_point_reads"});
constexpr auto kPointKeys = std::to_array<std::string_view>(
    {"kind", "address", "type", "count", "bit", "interval", "byte_order", "write_function"});
// The spellings of the Modbus keys' values, in the order `expected one of` lists them.
constexpr std::array kRegisterKinds{RegisterKind::kCoil, RegisterKind::kDiscreteInput,
                                    RegisterKind::kHolding, RegisterKind::kInput};
constexpr std::array kValueTypes{ValueType::kBool,    ValueType::kBit,    ValueType::kInt16,
                                 ValueType::kUInt16,  ValueType::kInt32,  ValueType::kUInt32,
                                 ValueType::kInt64,   ValueType::kUInt64, ValueType::kFloat32,
                                 ValueType::kFloat64, ValueType::kString};
constexpr std::array kByteOrders{ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                 ByteOrder::kDCBA};
constexpr std::array kWriteFunctions{WriteFunction::kSingle, WriteFunction::kMultiple};
// On TCP, libmodbus accepts unit ids 0..247 and 255 (the "no gateway" unit id) only.
constexpr std::array<std::int64_t, 1> kTcpUnitIdsBeyondRange{255};
// The serial line settings a modbus-rtu device takes from its [[buses]] entry.
constexpr auto kBusLineKeys =
    std::to_array<std::string_view>({"baud", "parity", "data_bits", "stop_bits"});

ValueKind value_kind_of(ValueType type) {
  if (type == ValueType::kBool || type == ValueType::kBit) return ValueKind::kBool;
  if (type == ValueType::kString) return ValueKind::kString;
  return ValueKind::kNumber;
}

// `writable` and the write function; only coils and holding registers can be written.
void read_write(Section& s, PointConfig& p, ModbusPointConfig& settings,
                std::optional<RegisterKind> kind, std::optional<ValueType> type) {
  WriteContext context;
  if (type) context = {value_kind_of(*type), std::string(to_string(*type))};
  p.set_write(read_point_write(s, context));
  const auto function = s.choice("write_function", kWriteFunctions);
  assign(settings.write_function, function);
  if (!p.write().writable) {
    reject_unless_writable(s, p.write(), "write_function");
  } else if (kind && (*kind == RegisterKind::kInput || *kind == RegisterKind::kDiscreteInput)) {
    s.report("writable",
             fmt::format("kind {} is read-only by protocol; only coils and holding registers "
                         "can be written",
                         quote(to_string(*kind))));
  }
}

PointConfig read_point(Section& s, std::optional<int> max_registers) {
  PointConfig p;
  auto settings = std::make_shared<ModbusPointConfig>();
  p.pos = s.pos();
  assign(p.name, s.name("name", Need::kRequired));
  const auto kind = s.choice("kind", kRegisterKinds, Need::kRequired);
  const auto address = s.integer("address", 0, 65535, Need::kRequired);
  auto type = s.choice("type", kValueTypes);
  const auto count = s.integer("count", 1, 125);
  const auto bit = s.integer("bit", 0, 15);
  const auto scale = s.number("scale");
  const auto offset = s.number("offset");
  assign(p.unit, s.bounded_string("unit", bounds::kMaxUnitBytes));
  if (const auto interval = s.duration("interval", bounds::kPollInterval)) p.interval = *interval;
  if (const auto order = s.choice("byte_order", kByteOrders)) settings->byte_order = *order;
  read_point_uplink(s, p);

  if (!s.has("type") && kind) {
    type = is_bit_kind(*kind) ? ValueType::kBool : ValueType::kUInt16;
  }
  read_write(s, p, *settings, kind, type);
  assign(settings->kind, kind);
  assign(settings->address, address);
  assign(settings->type, type);
  assign(settings->count, count);
  assign(settings->bit, bit);
  assign(p.scale, scale);
  assign(p.offset, offset);
  p.value_kind = value_kind_of(settings->type);
  p.settings = std::move(settings);

  PointFacts facts;
  facts.kind = kind;
  facts.type = type;
  facts.address = address;
  facts.count = count;
  facts.scale = scale;
  facts.offset = offset;
  facts.has_count = s.has("count");
  facts.has_bit = s.has("bit");
  facts.has_scale = s.has("scale");
  facts.has_offset = s.has("offset");
  facts.has_byte_order = s.has("byte_order");
  facts.max_registers = max_registers;
  for (KeyProblem& problem : check_point_rules(facts)) {
    if (problem.missing) {
      s.missing(problem.key, problem.message);
    } else {
      s.report(problem.key, std::move(problem.message));
    }
  }
  return p;
}

// The Modbus keys of a device; returns whether max_registers is known (valid
// or default), which the point rules need. `driver` is "" for an entry whose
// driver is missing or unknown.
bool read_device_keys(Section& s, DeviceConfig& device, ModbusDeviceConfig& settings,
                      std::string_view driver) {
  const bool tcp = driver == kModbusTcp;
  const bool rtu = driver == kModbusRtu;
  if (rtu) {
    s.reject("host", "only allowed for driver \"modbus-tcp\"");
    s.reject("port",
             "only allowed for drivers \"modbus-tcp\" and \"serial-line\" (a modbus-rtu device "
             "uses the port of the [[buses]] entry it names)");
    for (std::string_view key : kBusLineKeys) {
      s.reject(key,
               "only allowed for driver \"serial-line\" (a Modbus RTU device takes the line "
               "settings of the [[buses]] entry it names)");
    }
  } else if (tcp && !s.has("host")) {
    s.missing("host", "driver \"modbus-tcp\" needs a host");
  } else {
    assign(settings.host, s.non_empty_string("host", Need::kOptional));
  }
  if (!rtu) assign(settings.port, s.integer("port", 1, 65535));

  if (tcp) {
    s.reject("bus", "only allowed for driver \"modbus-rtu\"");
  } else if (rtu && !s.has("bus")) {
    s.missing("bus", "driver \"modbus-rtu\" needs a bus, the name of a [[buses]] entry");
  } else {
    assign(settings.bus, s.name("bus", Need::kOptional));
  }
  // Unit 0 is the RTU broadcast address: nobody answers a read sent to it.
  if (rtu) {
    assign(settings.unit_id, s.integer("unit_id", 1, 247));
  } else {
    assign(settings.unit_id, s.integer_or("unit_id", 0, 247, kTcpUnitIdsBeyondRange));
  }
  assign(settings.byte_timeout, s.duration("byte_timeout", bounds::kByteTimeout));
  assign(device.retries, s.integer("retries", 0, 10));
  assign(settings.byte_order, s.choice("byte_order", kByteOrders));
  assign(settings.max_gap, s.integer("max_gap", 0, 125));
  const auto max_registers = s.integer("max_registers", 1, 125);
  assign(settings.max_registers, max_registers);
  assign(settings.max_bits, s.integer("max_bits", 1, 2000));
  assign(settings.single_point_reads, s.boolean("single_point_reads"));
  // `model = "sunspec"`: the points come from the device's SunSpec model
  // chain (drivers/sunspec/). The common `model` key is read and checked by
  // config/model_use.cpp; here only its value is looked at.
  if (const toml::node* model = s.find("model"); model != nullptr) {
    settings.sunspec =
        model->value<std::string_view>() == std::optional<std::string_view>("sunspec");
  }
  return max_registers || !s.has("max_registers");
}

class PointsOfDevice final : public PointReader {
 public:
  PointsOfDevice(std::optional<int> max_registers, bool sunspec)
      : max_registers_(max_registers), sunspec_(sunspec) {}
  PointConfig read(Section& s) override {
    if (sunspec_) {
      s.report("name",
               "a device with model = \"sunspec\" has no [[devices.points]]: its points are "
               "discovered from its SunSpec models");
    }
    return read_point(s, max_registers_);
  }

 private:
  std::optional<int> max_registers_;  // the device's, when valid
  bool sunspec_;                      // points are discovered, none may be configured
};

class Schema final : public DriverSchema {
 public:
  std::span<const std::string_view> names() const override { return kNames; }
  std::span<const std::string_view> device_keys() const override { return kDeviceKeys; }
  std::span<const std::string_view> point_keys() const override { return kPointKeys; }

  std::string foreign_key_message(std::string_view key) const override {
    if (key == "host") return "only allowed for driver \"modbus-tcp\"";
    if (key == "bus") return "only allowed for driver \"modbus-rtu\"";
    return "only allowed for the Modbus drivers (\"modbus-tcp\", \"modbus-rtu\")";
  }

  std::unique_ptr<PointReader> read_device(Section& s, std::string_view driver,
                                           DeviceConfig& device) const override {
    auto settings = std::make_shared<ModbusDeviceConfig>();
    const bool max_registers_known = read_device_keys(s, device, *settings, driver);
    const int max_registers = settings->max_registers;
    const bool sunspec = settings->sunspec;
    device.settings = std::move(settings);
    return std::make_unique<PointsOfDevice>(
        max_registers_known ? std::optional<int>(max_registers) : std::nullopt, sunspec);
  }

  bool discovers_points(const DeviceConfig& device) const override {
    return device_of(device).sunspec;
  }

  void check_device(const Config&, const DeviceConfig& device, const std::string& key_base,
                    DeviceChecks& checks) const override {
    checks.need_bus(device_of(device).bus, key_base + ".bus", device.pos);
  }
};

}  // namespace

std::shared_ptr<const config::DriverSchema> make_schema() {
  return std::make_shared<const Schema>();
}

}  // namespace fieldgate::modbus
