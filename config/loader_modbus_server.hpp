// TOML → ModbusServerConfig: the [modbus_server] table.
#pragma once

#include "config/config.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// Reads [modbus_server] into `config.modbus_server`; needs `config.devices`
/// (the unit map names them).
void read_modbus_server(Section& s, Config& config);

}  // namespace fieldgate::config
