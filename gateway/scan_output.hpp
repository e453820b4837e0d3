// What `fieldgate scan` prints: the report for people, as JSON, and the
// ready-to-paste [[devices]] snippet (drivers/modbus_scan.hpp finds it).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "drivers/modbus_scan.hpp"

namespace fieldgate::gateway {

/// "9600 8N1" on RTU, "" on TCP.
[[nodiscard]] std::string setting_text(const modbus::ScanOptions& options,
                                       const modbus::LineSetting& setting);

/// The report as text: each answering unit, the silent ones as ranges, what
/// was skipped.
[[nodiscard]] std::string report_text(const modbus::ScanOptions& options,
                                      const modbus::ScanReport& report);

/// [[buses]] (RTU) and [[devices]] tables for every identified unit, a
/// comment for each unit that answers but is unknown; "" when nothing answered.
[[nodiscard]] std::string config_snippet(const modbus::ScanOptions& options,
                                         const modbus::ScanReport& report);

/// The report as JSON (docs/SCAN.md shows its shape), with the snippet.
[[nodiscard]] nlohmann::ordered_json report_json(const modbus::ScanOptions& options,
                                                 const modbus::ScanReport& report);

}  // namespace fieldgate::gateway
