#include "drivers/serial/settings.hpp"

#include <array>

#include "core/enum_names.hpp"

namespace fieldgate::serial {

std::string_view to_string(Framing f) noexcept {
  static constexpr std::array<std::string_view, 3> kNames{"delimiter", "start-end", "fixed"};
  return enum_name<Framing::kFixed>(kNames, f);
}

std::string_view to_string(ChecksumKind c) noexcept {
  static constexpr std::array<std::string_view, 5> kNames{"none", "nmea-xor", "crc16-modbus",
                                                          "crc16-ccitt", "sum8"};
  return enum_name<ChecksumKind::kSum8>(kNames, c);
}

std::string_view to_string(ChecksumPosition p) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"end", "after-end"};
  return enum_name<ChecksumPosition::kAfterEnd>(kNames, p);
}

std::string_view to_string(ChecksumFormat f) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"binary", "hex"};
  return enum_name<ChecksumFormat::kHex>(kNames, f);
}

std::string_view to_string(ParseMode m) noexcept {
  static constexpr std::array<std::string_view, 3> kNames{"key-value", "fields", "regex"};
  return enum_name<ParseMode::kRegex>(kNames, m);
}

std::string_view to_string(LineMode m) noexcept {
  static constexpr std::array<std::string_view, 2> kNames{"streaming", "request"};
  return enum_name<LineMode::kRequest>(kNames, m);
}

std::string_view to_string(SerialValueType t) noexcept {
  static constexpr std::array<std::string_view, 4> kNames{"number", "int", "bool", "string"};
  return enum_name<SerialValueType::kString>(kNames, t);
}

}  // namespace fieldgate::serial
