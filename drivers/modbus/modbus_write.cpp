// ModbusDriver::write: the one place fieldgate sends a write to a field
// device. Order of events, each step only if the one before succeeded:
//  1. find the point; refuse one that is not writable or of a read-only kind;
//  2. encode the value (codec.hpp encode_point_value): a value that does not
//     fit the type is refused here, before any bus traffic;
//  3. a bit of a register: read the register (FC3) and change only that bit;
//  4. write: coil FC5 (FC15 with write_function = "multiple"), registers FC6
//     for one register with "single", else FC16;
//  5. read the point back as a poll would; a failed read-back leaves the write
//     done (status ok) with the read-back missing and the reason.
// A write is not retried after a timeout (the device may have executed it);
// only a link found broken before anything was answered is reconnected once.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/modbus/codec.hpp"
#include "drivers/modbus/modbus_driver.hpp"

namespace fieldgate::modbus {
namespace {

using drivers::WriteResult;
using drivers::WriteStatus;

std::string_view failure_kind(Quality q) {
  switch (q) {
    case Quality::kTimeout:
      return "timeout";
    case Quality::kException:
      return "device exception";
    case Quality::kBadResponse:
      return "bad response";
    case Quality::kNoConnection:
      return "no connection";
    case Quality::kGood:
      break;
  }
  return "error";
}

WriteResult rejected(std::string why) {
  return {WriteStatus::kRejected, Quality::kGood, std::move(why), {}};
}

}  // namespace

ModbusDriver::Outcome ModbusDriver::transact(const std::string& what,
                                             const std::function<int(modbus_t*)>& call,
                                             int expected) {
  return run_request(*link_, addressee(), Repeat::kWrite, 0, health_, what, call, expected);
}

ModbusDriver::Outcome ModbusDriver::read_point(const config::PointConfig& point, Value& value) {
  const ModbusPointConfig& spec = point_of(point);
  const auto order = spec.order_or(settings_.byte_order);
  if (spec.kind == RegisterKind::kCoil) {
    std::uint8_t bit = 0;
    auto outcome = transact(
        fmt::format("read back coil {}", spec.address),
        [&](modbus_t* ctx) { return modbus_read_bits(ctx, spec.address, 1, &bit); }, 1);
    if (outcome.quality == Quality::kGood) value = bit != 0;
    return outcome;
  }
  const int n = register_count(spec.type, spec.count);
  std::vector<std::uint16_t> regs(static_cast<std::size_t>(n));
  auto outcome = transact(
      fmt::format("read back holding {}..{}", spec.address, spec.address + n - 1),
      [&](modbus_t* ctx) { return modbus_read_registers(ctx, spec.address, n, regs.data()); }, n);
  if (outcome.quality == Quality::kGood) {
    value =
        apply_scale(decode_registers(regs, spec.type, order, spec.bit), point.scale, point.offset);
  }
  return outcome;
}

WriteResult ModbusDriver::write(const std::string& name, const Value& value) {
  const auto it = std::find_if(device_.points.begin(), device_.points.end(),
                               [&](const config::PointConfig& p) { return p.name == name; });
  if (it == device_.points.end()) {
    return rejected(fmt::format("device {} has no point {}", device_.name, name));
  }
  const config::PointConfig& point = *it;
  const ModbusPointConfig& spec = point_of(point);
  if (spec.kind != RegisterKind::kCoil && spec.kind != RegisterKind::kHolding) {
    return rejected(fmt::format("not writable: kind {} is read-only", to_string(spec.kind)));
  }
  if (!point.write().writable) return rejected("not writable (the configuration says so)");
  const auto order = spec.order_or(settings_.byte_order);
  EncodedWrite encoded = encode_point_value(point, order, value);
  if (!encoded.error.empty()) return rejected(std::move(encoded.error));
  auto& regs = encoded.registers;
  const bool multiple = spec.write_function == WriteFunction::kMultiple;
  const int n = static_cast<int>(regs.size());

  Outcome outcome;
  if (spec.type == ValueType::kBit) {
    // Read-modify-write: only this bit changes (the register's other bits
    // may be other points, or settings the device owns).
    std::uint16_t current = 0;
    outcome = transact(
        fmt::format("read holding {} before writing bit {}", spec.address, spec.bit),
        [&](modbus_t* ctx) { return modbus_read_registers(ctx, spec.address, 1, &current); }, 1);
    if (outcome.quality == Quality::kGood) {
      const auto mask = encode_registers(true, ValueType::kBit, order, 0, spec.bit);
      const std::uint16_t m = mask ? (*mask)[0] : 0;
      regs[0] = static_cast<std::uint16_t>((current & ~m) | (regs[0] & m));
    }
  }
  if (outcome.quality == Quality::kGood) {
    if (spec.kind == RegisterKind::kCoil) {
      const bool on = regs[0] != 0;
      std::uint8_t bit = on ? 1 : 0;
      outcome = transact(
          fmt::format("write coil {} (FC{})", spec.address, multiple ? 15 : 5),
          [&](modbus_t* ctx) {
            return multiple ? modbus_write_bits(ctx, spec.address, 1, &bit)
                            : modbus_write_bit(ctx, spec.address, on ? 1 : 0);
          },
          1);
    } else {
      const bool fc6 = !multiple && n == 1;
      outcome = transact(
          fmt::format("write holding {}..{} (FC{})", spec.address, spec.address + n - 1,
                      fc6 ? 6 : 16),
          [&](modbus_t* ctx) {
            return fc6 ? modbus_write_register(ctx, spec.address, regs[0])
                       : modbus_write_registers(ctx, spec.address, n, regs.data());
          },
          fc6 ? 1 : n);
    }
  }
  if (outcome.quality != Quality::kGood) {
    return {WriteStatus::kFailed,
            outcome.quality,
            fmt::format("{}: {}", failure_kind(outcome.quality), outcome.error),
            {}};
  }

  WriteResult result;
  const Outcome read = read_point(point, result.readback);
  if (read.quality != Quality::kGood) {
    result.readback = std::monostate{};
    result.error =
        fmt::format("written; read-back failed: {}: {}", failure_kind(read.quality), read.error);
  }
  return result;
}

}  // namespace fieldgate::modbus
