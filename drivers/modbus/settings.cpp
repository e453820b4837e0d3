#include "drivers/modbus/settings.hpp"

#include <array>

#include "core/enum_names.hpp"

namespace fieldgate::modbus {

std::string_view to_string(WriteFunction f) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"single", "multiple"};
  return enum_name<WriteFunction::kMultiple>(kNames, f);
}

std::string_view to_string(RegisterKind k) noexcept {
  static constexpr std::array<std::string_view, 4> kNames{"coil", "discrete_input", "holding",
                                                          "input"};
  return enum_name<RegisterKind::kInput>(kNames, k);
}

std::string_view to_string(ValueType t) noexcept {
  static constexpr std::array<std::string_view, 11> kNames{"bool",    "bit",     "int16", "uint16",
                                                           "int32",   "uint32",  "int64", "uint64",
                                                           "float32", "float64", "string"};
  return enum_name<ValueType::kString>(kNames, t);
}

std::string_view to_string(ByteOrder o) noexcept {
  static constexpr std::array<std::string_view, 4> kNames{"ABCD", "CDAB", "BADC", "DCBA"};
  return enum_name<ByteOrder::kDCBA>(kNames, o);
}

int register_count(ValueType t, int string_count) noexcept {
  switch (t) {
    case ValueType::kBool:
    case ValueType::kBit:
    case ValueType::kInt16:
    case ValueType::kUInt16:
      return 1;
    case ValueType::kInt32:
    case ValueType::kUInt32:
    case ValueType::kFloat32:
      return 2;
    case ValueType::kInt64:
    case ValueType::kUInt64:
    case ValueType::kFloat64:
      return 4;
    case ValueType::kString:
      return string_count;
  }
  return 1;
}

}  // namespace fieldgate::modbus
