// The serial-line driver's part of the configuration schema: its keys of
// [[devices]] (port settings, framing, checksum, parsing, mode) and of
// [[devices.points]] (field, key or group; split, part; write_template), read
// with config/'s Section helpers and the same rules as config/loader.cpp (see
// its design notes).
#pragma once

#include <memory>

#include "config/driver_schema.hpp"

namespace fieldgate::serial {

/// The schema of driver "serial-line".
[[nodiscard]] std::shared_ptr<const config::DriverSchema> make_schema();

}  // namespace fieldgate::serial
