// The Modbus drivers' part of the configuration schema: their keys of
// [[devices]] (host and port, or bus; unit id, timeouts, request sizes) and of
// [[devices.points]] (kind, address, type, count, bit, byte order, write
// function), read with config/'s Section helpers and the same rules as
// config/loader.cpp (see its design notes).
#pragma once

#include <memory>

#include "config/driver_schema.hpp"

namespace fieldgate::modbus {

/// The schema of drivers "modbus-tcp" and "modbus-rtu".
[[nodiscard]] std::shared_ptr<const config::DriverSchema> make_schema();

}  // namespace fieldgate::modbus
