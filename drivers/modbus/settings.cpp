#include "drivers/modbus/settings.hpp"

namespace fieldgate::modbus {

std::string_view to_string(WriteFunction f) noexcept {
  return f == WriteFunction::kMultiple ? "multiple" : "single";
}

std::string_view to_string(RegisterKind k) noexcept {
  switch (k) {
    case RegisterKind::kCoil:
      return "coil";
    case RegisterKind::kDiscreteInput:
      return "discrete_input";
    case RegisterKind::kHolding:
      return "holding";
    case RegisterKind::kInput:
      return "input";
  }
  return "?";
}

std::string_view to_string(ValueType t) noexcept {
  switch (t) {
    case ValueType::kBool:
      return "bool";
    case ValueType::kBit:
      return "bit";
    case ValueType::kInt16:
      return "int16";
    case ValueType::kUInt16:
      return "uint16";
    case ValueType::kInt32:
      return "int32";
    case ValueType::kUInt32:
      return "uint32";
    case ValueType::kInt64:
      return "int64";
    case ValueType::kUInt64:
      return "uint64";
    case ValueType::kFloat32:
      return "float32";
    case ValueType::kFloat64:
      return "float64";
    case ValueType::kString:
      return "string";
  }
  return "?";
}

std::string_view to_string(ByteOrder o) noexcept {
  switch (o) {
    case ByteOrder::kABCD:
      return "ABCD";
    case ByteOrder::kCDAB:
      return "CDAB";
    case ByteOrder::kBADC:
      return "BADC";
    case ByteOrder::kDCBA:
      return "DCBA";
  }
  return "?";
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
