#include "drivers/modbus/modbus_driver.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "drivers/modbus/codec.hpp"
#include "drivers/modbus/schema.hpp"
#include "drivers/registry.hpp"
#include "drivers/sunspec/sunspec_driver.hpp"

namespace fieldgate::modbus {
namespace {

std::string point_names(const ReadRequest& request, const config::DeviceConfig& device) {
  std::string names;
  for (auto index : request.points) {
    if (!names.empty()) names += ", ";
    names += device.points[index].name;
  }
  return names;
}

drivers::RegisterTable table_of(RegisterKind kind) noexcept {
  switch (kind) {
    case RegisterKind::kCoil:
      return drivers::RegisterTable::kCoils;
    case RegisterKind::kDiscreteInput:
      return drivers::RegisterTable::kDiscreteInputs;
    case RegisterKind::kHolding:
      return drivers::RegisterTable::kHolding;
    case RegisterKind::kInput:
      return drivers::RegisterTable::kInput;
  }
  return drivers::RegisterTable::kHolding;
}

RegisterKind kind_of(drivers::RegisterTable table) noexcept {
  switch (table) {
    case drivers::RegisterTable::kCoils:
      return RegisterKind::kCoil;
    case drivers::RegisterTable::kDiscreteInputs:
      return RegisterKind::kDiscreteInput;
    case drivers::RegisterTable::kHolding:
      return RegisterKind::kHolding;
    case drivers::RegisterTable::kInput:
      return RegisterKind::kInput;
  }
  return RegisterKind::kHolding;
}

// The points a master may write through the Modbus server, and how its words
// become the value an MQTT command would carry (the same checks follow).
std::vector<drivers::RegisterCache::WritablePoint> writable_points(
    const config::DeviceConfig& device, ByteOrder device_order) {
  std::vector<drivers::RegisterCache::WritablePoint> out;
  for (const auto& point : device.points) {
    const auto& spec = point_of(point);
    if (!point.write().writable || spec.type == ValueType::kBit) continue;
    if (spec.kind != RegisterKind::kHolding && spec.kind != RegisterKind::kCoil) continue;
    const bool coil = spec.kind == RegisterKind::kCoil;
    const auto count = coil ? 1 : register_count(spec.type, spec.count);
    const auto type = spec.type;
    const auto order = spec.order_or(device_order);
    const auto scale = point.scale;
    const auto offset = point.offset;
    out.push_back({table_of(spec.kind), static_cast<std::uint16_t>(spec.address),
                   static_cast<std::uint16_t>(count), point.name,
                   [coil, type, order, scale, offset](std::span<const std::uint16_t> words) {
                     if (coil) return Value{!words.empty() && words[0] != 0};
                     return apply_scale(decode_registers(words, type, order), scale, offset);
                   }});
  }
  return out;
}

// The one place a Modbus device is routed to SunSpec auto-discovery instead
// of its configured points: `model = "sunspec"`.
std::unique_ptr<drivers::Driver> make_device_driver(const config::DeviceConfig& device,
                                                    drivers::DriverContext& ctx,
                                                    std::string channel,
                                                    std::shared_ptr<ModbusLink> link) {
  if (device_of(device).sunspec) {
    return sunspec::make_sunspec_driver(ctx.share(device), std::move(channel), std::move(link),
                                        ctx.notes);
  }
  return std::make_unique<ModbusDriver>(ctx.share(device), std::move(channel), std::move(link));
}

}  // namespace

ModbusDriver::ModbusDriver(std::shared_ptr<const config::DeviceConfig> device, std::string channel,
                           std::shared_ptr<ModbusLink> link)
    : device_owner_(std::move(device)),
      device_(*device_owner_),
      settings_(device_of(device_)),
      channel_(std::move(channel)),
      link_(std::move(link)) {
  for (auto& request : plan_requests(device_)) groups_.push_back(Group{std::move(request), {}});
  std::vector<drivers::RegisterCache::Block> blocks;
  for (const auto& group : groups_) {
    const auto& r = group.request;
    blocks.push_back({table_of(r.kind), static_cast<std::uint16_t>(r.start),
                      static_cast<std::uint16_t>(r.count), r.interval});
  }
  // A device on a bus has a unit id of its own there; behind a TCP endpoint
  // the id often means nothing (1 or 255 on every device), so it is not offered.
  std::optional<int> own_unit_id;
  if (!settings_.bus.empty()) own_unit_id = settings_.unit_id;
  cache_ = std::make_shared<drivers::RegisterCache>(device_.name, own_unit_id, std::move(blocks),
                                                    writable_points(device_, settings_.byte_order));
}

drivers::Clock::time_point ModbusDriver::next_due() const noexcept {
  auto due = drivers::Clock::time_point::max();
  for (const auto& group : groups_) due = std::min(due, group.next_due);
  return due;
}

std::vector<std::string> ModbusDriver::describe_plan() const {
  std::vector<std::string> lines;
  for (const auto& group : groups_) lines.push_back(describe(group.request, device_));
  return lines;
}

Batch ModbusDriver::poll(drivers::Clock::time_point now, bool force) {
  Batch batch;
  bool attempted = false;
  bool answered = false;             // the device said something we understood (data or exception)
  std::optional<Outcome> link_down;  // set once the device stopped answering this poll
  std::string first_error;
  std::vector<std::uint16_t> registers;
  std::vector<std::uint8_t> bits;

  for (std::size_t index = 0; index < groups_.size(); ++index) {
    auto& group = groups_[index];
    if (!force && group.next_due > now) continue;
    // Keep the cadence; after an overrun (slow bus, back-off) skip the missed slots.
    const auto interval = group.request.interval;
    group.next_due =
        group.next_due == drivers::Clock::time_point{} ? now + interval : group.next_due + interval;
    if (group.next_due <= now) group.next_due = now + interval;
    attempted = true;

    // A device that timed out or dropped the connection fails every further
    // request the same way: report them without spending bus time on them.
    const auto outcome = link_down ? *link_down : execute(group.request, registers, bits);
    const auto ts_ms = unix_ms_now();
    if (outcome.quality == Quality::kGood) {
      answered = true;
      // The raw words for the Modbus server: a copy into storage sized once.
      if (is_bit_kind(group.request.kind)) {
        cache_->store_bits(index, bits, drivers::Clock::now());
      } else {
        cache_->store(index, registers, drivers::Clock::now());
      }
      decode_into(group.request, registers, bits, ts_ms, batch);
      continue;
    }
    if (outcome.quality == Quality::kException) answered = true;
    if (outcome.quality == Quality::kTimeout || outcome.quality == Quality::kNoConnection) {
      link_down = outcome;
    }
    if (first_error.empty()) {
      first_error =
          fmt::format("{} (points: {})", outcome.error, point_names(group.request, device_));
    }
    fail_into(group.request, outcome, ts_ms, batch);
  }
  if (!attempted) return batch;

  ++health_.polls;
  health_.connected = link_->connected();
  // Log a failure when it starts or changes, not on every poll of a dead device.
  if (!first_error.empty() && first_error != health_.last_error) {
    spdlog::warn("{}: {}", device_.name, first_error);
  } else if (first_error.empty() && !health_.last_error.empty()) {
    spdlog::info("{}: answering again", device_.name);
  }
  health_.last_error = first_error;
  if (first_error.empty()) health_.last_good_ms = unix_ms_now();
  health_.consecutive_failures = answered ? 0 : health_.consecutive_failures + 1;
  return batch;
}

ModbusDriver::Outcome ModbusDriver::execute(const ReadRequest& request,
                                            std::vector<std::uint16_t>& registers,
                                            std::vector<std::uint8_t>& bits) {
  const auto what = fmt::format("{} {}..{}", to_string(request.kind), request.start,
                                request.start + request.count - 1);
  const auto count = static_cast<std::size_t>(request.count);
  if (is_bit_kind(request.kind)) {  // FC1 coils, FC2 discrete inputs
    bits.resize(count);
    const auto read =
        request.kind == RegisterKind::kCoil ? modbus_read_bits : modbus_read_input_bits;
    return run_request(
        *link_, addressee(), Repeat::kRead, device_.retries, health_, what,
        [&](modbus_t* ctx) { return read(ctx, request.start, request.count, bits.data()); },
        request.count);
  }
  // FC3 holding, FC4 input registers
  registers.resize(count);
  const auto read =
      request.kind == RegisterKind::kHolding ? modbus_read_registers : modbus_read_input_registers;
  return run_request(
      *link_, addressee(), Repeat::kRead, device_.retries, health_, what,
      [&](modbus_t* ctx) { return read(ctx, request.start, request.count, registers.data()); },
      request.count);
}

Addressee ModbusDriver::addressee() const noexcept {
  return {settings_.unit_id, device_.response_timeout, settings_.byte_timeout};
}

drivers::WriteResult ModbusDriver::read_registers(drivers::RegisterTable table, std::uint16_t start,
                                                  std::span<std::uint16_t> out) {
  // A read as a poll makes it (retries included), of the range the master asked for.
  ReadRequest request;
  request.kind = kind_of(table);
  request.start = start;
  request.count = static_cast<int>(out.size());
  std::vector<std::uint16_t> registers;
  std::vector<std::uint8_t> bits;
  const auto outcome = execute(request, registers, bits);
  if (outcome.quality != Quality::kGood) {
    return {drivers::WriteStatus::kFailed, outcome.quality, outcome.error, {}};
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = is_bit_kind(request.kind) ? static_cast<std::uint16_t>(bits[i] != 0) : registers[i];
  }
  return {};
}

void ModbusDriver::decode_into(const ReadRequest& request,
                               const std::vector<std::uint16_t>& registers,
                               const std::vector<std::uint8_t>& bits, std::int64_t ts_ms,
                               Batch& out) const {
  for (auto index : request.points) {
    const auto& point = device_.points[index];
    const ModbusPointConfig& m = point_of(point);
    const auto offset = static_cast<std::size_t>(m.address - request.start);
    Value raw;
    if (is_bit_kind(request.kind)) {
      raw = bits.at(offset) != 0;
    } else {
      const auto n = static_cast<std::size_t>(register_count(m.type, m.count));
      raw = decode_registers(std::span(registers).subspan(offset, n), m.type,
                             m.order_or(settings_.byte_order), m.bit);
    }
    out.push_back(Reading{device_.name,
                          point.name,
                          apply_scale(raw, point.scale, point.offset),
                          point.unit,
                          Quality::kGood,
                          ts_ms,
                          0,
                          {}});
  }
}

void ModbusDriver::fail_into(const ReadRequest& request, const Outcome& outcome, std::int64_t ts_ms,
                             Batch& out) const {
  for (auto index : request.points) {
    const auto& point = device_.points[index];
    out.push_back(Reading{device_.name, point.name, std::monostate{}, point.unit, outcome.quality,
                          ts_ms, 0, outcome.error});
  }
}

void register_drivers(drivers::DriverRegistry& registry) {
  const auto schema = make_schema();
  registry.add({"modbus-tcp", schema,
                [](const config::DeviceConfig& device, drivers::DriverContext& ctx) {
                  const ModbusDeviceConfig& settings = device_of(device);
                  auto channel = fmt::format("modbus-tcp:{}:{}", settings.host, settings.port);
                  auto link = ctx.shared.get_or_create<ModbusLink>(
                      channel, [&] { return ModbusLink::tcp(settings.host, settings.port); });
                  return make_device_driver(device, ctx, channel, std::move(link));
                },
                [](const config::DeviceConfig& device, const config::Config&) {
                  const ModbusDeviceConfig& settings = device_of(device);
                  return fmt::format("modbus-tcp {}:{} unit {}", settings.host, settings.port,
                                     settings.unit_id);
                }});
  registry.add({"modbus-rtu", schema,
                [](const config::DeviceConfig& device, drivers::DriverContext& ctx) {
                  const std::string& bus_name = device_of(device).bus;
                  const auto* bus = ctx.config.find_bus(bus_name);
                  if (bus == nullptr) {
                    throw std::invalid_argument(
                        fmt::format("device \"{}\": no bus named \"{}\"", device.name, bus_name));
                  }
                  auto channel = fmt::format("modbus-rtu:{}", bus->name);
                  auto link = ctx.shared.get_or_create<ModbusLink>(
                      channel, [&] { return ModbusLink::rtu(*bus); });
                  return make_device_driver(device, ctx, channel, std::move(link));
                },
                [](const config::DeviceConfig& device, const config::Config& config) {
                  const ModbusDeviceConfig& settings = device_of(device);
                  const auto* bus = config.find_bus(settings.bus);
                  if (bus == nullptr) return device.driver;
                  return fmt::format("{} on bus {} ({} {} baud) unit {}", device.driver, bus->name,
                                     bus->port, bus->baud, settings.unit_id);
                }});
}

}  // namespace fieldgate::modbus
