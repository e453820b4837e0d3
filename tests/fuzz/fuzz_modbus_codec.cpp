// Fuzz target: Modbus register decoding and encoding (drivers/modbus/codec.*)
// for every value type and byte order.
//
// Input:
//   0  what to encode (% 4: an int64, a double, a bool, a string)
//   1-8 the int64 or double (big-endian bytes), or a length-prefixed string
//   then 16 bytes: scale and offset (doubles) for apply_scale
//   the rest: registers as received, two bytes each, big-endian
//
// Checks, for every type × byte order (× bit for type bit):
//  - decode: fewer registers than the type needs gives no value; otherwise a
//    value of the documented alternative, and encoding it again gives the
//    same registers (numbers: bit for bit, except NaN float32 and uint64
//    values too large for int64, which are doubles; strings: the same text);
//  - encode of a value: if it fits the type, it has the type's register count
//    and decodes back to the same value (float32: to the same float);
//  - apply_scale never fails and leaves bool and string alone.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using namespace fieldgate;
using modbus::ByteOrder;
using modbus::ValueType;

constexpr ValueType kTypes[] = {
    ValueType::kBool,    ValueType::kBit,     ValueType::kInt16,  ValueType::kUInt16,
    ValueType::kInt32,   ValueType::kUInt32,  ValueType::kInt64,  ValueType::kUInt64,
    ValueType::kFloat32, ValueType::kFloat64, ValueType::kString,
};
constexpr ByteOrder kOrders[] = {ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                 ByteOrder::kDCBA};

bool is_integer_type(ValueType t) {
  return t == ValueType::kInt16 || t == ValueType::kUInt16 || t == ValueType::kInt32 ||
         t == ValueType::kUInt32 || t == ValueType::kInt64 || t == ValueType::kUInt64;
}

std::string trim_trailing_spaces(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

void check_decode(std::span<const std::uint16_t> regs, ValueType type, ByteOrder order, int bit,
                  double scale, double offset) {
  const int count = type == ValueType::kString ? static_cast<int>(regs.size()) : 0;
  const auto needed = static_cast<std::size_t>(modbus::register_count(type, count));
  const Value v = modbus::decode_registers(regs, type, order, bit);
  if (needed == 0 || regs.size() < needed) {
    FUZZ_CHECK(std::holds_alternative<std::monostate>(v));
    return;
  }
  const auto mine = regs.first(needed);
  const Value scaled = modbus::apply_scale(v, scale, offset);
  if (std::holds_alternative<bool>(v) || std::holds_alternative<std::string>(v)) {
    FUZZ_CHECK(scaled == v);
  }
  switch (type) {
    case ValueType::kBool: {
      FUZZ_CHECK(std::get<bool>(v) == (regs[0] != 0));
      const auto again = modbus::encode_registers(v, type, order);
      FUZZ_CHECK(again && modbus::decode_registers(*again, type, order) == v);
      return;
    }
    case ValueType::kBit: {
      FUZZ_CHECK(std::holds_alternative<bool>(v));
      const auto again = modbus::encode_registers(v, type, order, 0, bit);
      FUZZ_CHECK(again && modbus::decode_registers(*again, type, order, bit) == v);
      return;
    }
    case ValueType::kString: {
      const auto* text = std::get_if<std::string>(&v);
      FUZZ_CHECK(text != nullptr && text->size() <= needed * 2);
      const auto again = modbus::encode_registers(v, type, order, count);
      FUZZ_CHECK(again && modbus::decode_registers(*again, type, order) == v);
      return;
    }
    case ValueType::kFloat32:
      if (std::isnan(std::get<double>(v))) return;  // the NaN payload may change
      break;
    case ValueType::kUInt64:
      if (std::holds_alternative<double>(v)) return;  // above INT64_MAX: rounded
      break;
    default:
      break;
  }
  if (is_integer_type(type)) FUZZ_CHECK(std::holds_alternative<std::int64_t>(v));
  const auto again = modbus::encode_registers(v, type, order);
  FUZZ_CHECK(again && std::equal(again->begin(), again->end(), mine.begin(), mine.end()));
}

void check_encode(const Value& value, ValueType type, ByteOrder order, int count, int bit) {
  const auto regs = modbus::encode_registers(value, type, order, count, bit);
  if (!regs) return;
  FUZZ_CHECK(regs->size() == static_cast<std::size_t>(modbus::register_count(type, count)));
  const Value back = modbus::decode_registers(*regs, type, order, bit);
  switch (type) {
    case ValueType::kBool:
    case ValueType::kBit: {
      const bool b = std::holds_alternative<bool>(value) ? std::get<bool>(value)
                                                         : std::get<std::int64_t>(value) == 1;
      FUZZ_CHECK(back == Value{b});
      return;
    }
    case ValueType::kString:
      FUZZ_CHECK(back == Value{trim_trailing_spaces(std::get<std::string>(value))});
      return;
    case ValueType::kFloat32: {
      // The same float, whatever double it was given as.
      const auto again = modbus::encode_registers(back, type, order);
      if (!std::isnan(std::get<double>(back))) FUZZ_CHECK(again && *again == *regs);
      return;
    }
    case ValueType::kFloat64: {
      const double d = std::holds_alternative<double>(value)
                           ? std::get<double>(value)
                           : static_cast<double>(std::get<std::int64_t>(value));
      FUZZ_CHECK(std::bit_cast<std::uint64_t>(std::get<double>(back)) ==
                 std::bit_cast<std::uint64_t>(d));
      return;
    }
    default: {
      // Integers: exactly the number given, as int64 or (uint64 above INT64_MAX) double.
      if (const auto* i = std::get_if<std::int64_t>(&value)) {
        FUZZ_CHECK(back == Value{*i});
      } else {
        const double d = std::get<double>(value);
        if (const auto* bi = std::get_if<std::int64_t>(&back)) {
          FUZZ_CHECK(static_cast<double>(*bi) == d);
        } else {
          FUZZ_CHECK(std::get<double>(back) == d);
        }
      }
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  Value value;
  switch (in.byte() % 4) {
    case 0:
      value = static_cast<std::int64_t>(in.u64());
      break;
    case 1:
      value = std::bit_cast<double>(in.u64());
      break;
    case 2:
      value = (in.byte() & 1) != 0;
      break;
    default:
      value = in.text(250);
      break;
  }
  const double scale = std::bit_cast<double>(in.u64());
  const double offset = std::bit_cast<double>(in.u64());
  const std::string_view rest = in.rest();
  std::vector<std::uint16_t> regs(std::min<std::size_t>(rest.size() / 2, 125));
  for (std::size_t i = 0; i < regs.size(); ++i) {
    regs[i] = static_cast<std::uint16_t>((static_cast<std::uint8_t>(rest[2 * i]) << 8) |
                                         static_cast<std::uint8_t>(rest[2 * i + 1]));
  }

  const int string_count = std::max(1, static_cast<int>(regs.size()));
  for (const ValueType type : kTypes) {
    for (const ByteOrder order : kOrders) {
      if (type == ValueType::kBit) {
        for (int bit = -1; bit <= 16; ++bit) {
          if (bit < 0 || bit > 15) {
            FUZZ_CHECK(std::holds_alternative<std::monostate>(
                modbus::decode_registers(regs, type, order, bit)));
            FUZZ_CHECK(!modbus::encode_registers(value, type, order, 0, bit));
            continue;
          }
          check_decode(regs, type, order, bit, scale, offset);
          check_encode(value, type, order, 0, bit);
        }
        continue;
      }
      check_decode(regs, type, order, 0, scale, offset);
      check_encode(value, type, order, string_count, 0);
    }
  }
  return 0;
}
