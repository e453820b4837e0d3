// Modbus device identification (function 43, MEI type 14): the vendor,
// product code and revision a device reports about itself. libmodbus 3.1.6
// cannot receive this answer (it does not know its length), so the request
// goes out with modbus_send_raw_request and the answer is read from the
// link's descriptor here, bounded in bytes and time, and parsed as hostile
// input: every length is checked, text is kept printable and short.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "drivers/modbus_scan.hpp"  // DeviceIdentification

namespace fieldgate::modbus {

class ModbusLink;

/// Longest object text kept; longer text is cut.
inline constexpr std::size_t kMaxIdentificationText = 64;
/// Most objects kept from one answer.
inline constexpr int kMaxIdentificationObjects = 32;

/// Parses the PDU of an answer to "read device identification, basic"
/// (starting at the function code). nullopt with `error` set for an exception
/// (the device does not support it) or a malformed answer.
[[nodiscard]] std::optional<DeviceIdentification> parse_device_identification(
    std::span<const std::uint8_t> pdu, std::string& error);

/// The Modbus RTU CRC-16 of `bytes` (low byte first on the wire).
[[nodiscard]] std::uint16_t modbus_crc16(std::span<const std::uint8_t> bytes) noexcept;

/// Asks unit `unit` on `link` (connected) for its basic identification,
/// waiting at most `timeout` for the answer. nullopt with `error` set when
/// it does not answer, refuses, or answers garbage.
[[nodiscard]] std::optional<DeviceIdentification> read_device_identification(
    ModbusLink& link, int unit, std::chrono::milliseconds timeout, std::string& error);

}  // namespace fieldgate::modbus
