#include "drivers/modbus/point_rules.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace fieldgate::modbus {
namespace {

constexpr std::int64_t kLastAddress = 65535;

std::string quote(std::string_view s) {
  return fmt::format("{:?}", s);
}

bool has_no_scale(ValueType t) {
  return t == ValueType::kBool || t == ValueType::kBit || t == ValueType::kString;
}

}  // namespace

std::vector<KeyProblem> check_point_rules(const PointFacts& f) {
  std::vector<KeyProblem> out;
  const auto problem = [&](std::string_view key, std::string message) {
    out.push_back({key, std::move(message), false});
  };

  // A scale of 0 would turn every reading into 0 and could not be inverted
  // for writes; inf/nan are TOML-legal but never meant.
  if (f.scale && (*f.scale == 0 || !std::isfinite(*f.scale))) {
    problem("scale", fmt::format("expected a non-zero finite number, got {}", *f.scale));
  }
  if (f.offset && !std::isfinite(*f.offset)) {
    problem("offset", fmt::format("expected a finite number, got {}", *f.offset));
  }
  if (f.kind && is_bit_kind(*f.kind) && f.has_byte_order) {
    problem("byte_order", fmt::format("not allowed for kind {} (a single bit has no byte order)",
                                      quote(to_string(*f.kind))));
  }
  if (!f.type) return out;

  const ValueType type = *f.type;
  const std::string type_name = quote(to_string(type));
  if (type == ValueType::kString) {
    if (!f.has_count) {
      out.push_back({"count", "type \"string\" needs count, its length in registers", true});
    }
  } else if (f.has_count) {
    problem("count", "only allowed for type \"string\"");
  }
  if (type != ValueType::kBit && f.has_bit) problem("bit", "only allowed for type \"bit\"");
  if (has_no_scale(type)) {
    if (f.has_scale) problem("scale", fmt::format("not allowed for type {}", type_name));
    if (f.has_offset) problem("offset", fmt::format("not allowed for type {}", type_name));
  }
  if (!f.kind) return out;

  const bool bits = is_bit_kind(*f.kind);
  const std::string kind_name = quote(to_string(*f.kind));
  if (bits && type != ValueType::kBool) {
    problem("type", fmt::format("type {} is not allowed for kind {} (coils and discrete inputs "
                                "hold only bool)",
                                type_name, kind_name));
    return out;
  }
  if (!bits && type == ValueType::kBool) {
    problem("type", fmt::format("type \"bool\" is not allowed for kind {} (use type \"bit\" with "
                                "bit = 0..15 for one bit of a register)",
                                kind_name));
    return out;
  }
  if (!f.address || (type == ValueType::kString && !f.count)) return out;

  const int length = register_count(type, f.count ? static_cast<int>(*f.count) : 0);
  const std::string_view unit =
      bits ? (length == 1 ? "bit" : "bits") : (length == 1 ? "register" : "registers");
  const std::int64_t last = *f.address + length - 1;
  if (last > kLastAddress) {
    problem("address", fmt::format("address {} + {} {} ({}) ends at {}, past the last address {}",
                                   *f.address, length, unit, to_string(type), last, kLastAddress));
  }
  if (!bits && f.max_registers && length > *f.max_registers) {
    problem(type == ValueType::kString ? "count" : "type",
            fmt::format("{} needs {} registers, more than the device's max_registers = {}",
                        to_string(type), length, *f.max_registers));
  }
  return out;
}

}  // namespace fieldgate::modbus
