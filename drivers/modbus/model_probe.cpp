#include "drivers/modbus/model_probe.hpp"

#include <variant>

#include "drivers/modbus/codec.hpp"

namespace fieldgate::modbus {

std::optional<double> read_point_value(const config::PointConfig& point, const RegisterRead& read,
                                       std::optional<ByteOrder> order) {
  const ModbusPointConfig& s = point_of(point);
  if (point.value_kind != config::ValueKind::kNumber || is_bit_kind(s.kind)) return std::nullopt;
  const int count = register_count(s.type, s.count);
  const auto regs = read(s.kind, s.address, count);
  if (!regs || static_cast<int>(regs->size()) != count) return std::nullopt;
  const Value raw =
      decode_registers(*regs, s.type, order.value_or(s.order_or(ByteOrder::kABCD)), s.bit);
  const Value value = apply_scale(raw, point.scale, point.offset);
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  return std::nullopt;
}

config::ProbeVerdict evaluate_model_probe(const config::Model& model, const RegisterRead& read,
                                          std::optional<ByteOrder> order) {
  return config::evaluate_probe(model.probe, [&](std::string_view name) -> std::optional<double> {
    const config::PointConfig* point = model.find_point(name);
    if (point == nullptr) return std::nullopt;
    return read_point_value(*point, read, order);
  });
}

}  // namespace fieldgate::modbus
