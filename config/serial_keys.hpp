// The keys of a serial line, read the same way wherever a port is configured:
// a [[buses]] entry and a device with a port of its own (serial-line).
#pragma once

#include "config/toml_section.hpp"
#include "core/serial_port.hpp"

namespace fieldgate::config {

/// Reads `port` (required), `baud`, `parity`, `data_bits` and `stop_bits`
/// into `line`, reporting to `s`; absent keys keep their defaults (9600 8N1).
void read_serial_settings(Section& s, SerialSettings& line);

}  // namespace fieldgate::config
