#include "drivers/serial/settings.hpp"

namespace fieldgate::serial {

std::string_view to_string(Framing f) noexcept {
  switch (f) {
    case Framing::kDelimiter:
      return "delimiter";
    case Framing::kStartEnd:
      return "start-end";
    case Framing::kFixed:
      return "fixed";
  }
  return "?";
}

std::string_view to_string(ChecksumKind c) noexcept {
  switch (c) {
    case ChecksumKind::kNone:
      return "none";
    case ChecksumKind::kNmeaXor:
      return "nmea-xor";
    case ChecksumKind::kCrc16Modbus:
      return "crc16-modbus";
    case ChecksumKind::kCrc16Ccitt:
      return "crc16-ccitt";
    case ChecksumKind::kSum8:
      return "sum8";
  }
  return "?";
}

std::string_view to_string(ChecksumPosition p) noexcept {
  switch (p) {
    case ChecksumPosition::kEnd:
      return "end";
    case ChecksumPosition::kAfterEnd:
      return "after-end";
  }
  return "?";
}

std::string_view to_string(ChecksumFormat f) noexcept {
  switch (f) {
    case ChecksumFormat::kBinary:
      return "binary";
    case ChecksumFormat::kHex:
      return "hex";
  }
  return "?";
}

std::string_view to_string(ParseMode m) noexcept {
  switch (m) {
    case ParseMode::kKeyValue:
      return "key-value";
    case ParseMode::kFields:
      return "fields";
    case ParseMode::kRegex:
      return "regex";
  }
  return "?";
}

std::string_view to_string(LineMode m) noexcept {
  switch (m) {
    case LineMode::kStreaming:
      return "streaming";
    case LineMode::kRequest:
      return "request";
  }
  return "?";
}

std::string_view to_string(SerialValueType t) noexcept {
  switch (t) {
    case SerialValueType::kNumber:
      return "number";
    case SerialValueType::kInt:
      return "int";
    case SerialValueType::kBool:
      return "bool";
    case SerialValueType::kString:
      return "string";
  }
  return "?";
}

}  // namespace fieldgate::serial
