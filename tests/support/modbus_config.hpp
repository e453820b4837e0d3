// Modbus devices and points built by hand, for tests of the Modbus driver's
// parts (plan, codec, writes, the simulator) that need no TOML: the Modbus
// fields live in the driver's settings (drivers/modbus/settings.hpp), not in
// config::DeviceConfig / PointConfig, and these put them there.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "drivers/modbus/settings.hpp"

namespace fieldgate::test_support {

/// A point named `name` at `address` of table `kind`, read as `type` (`count`
/// registers for a string, bit `bit` for kBit); the rest is defaults.
inline config::PointConfig modbus_point(std::string name, modbus::RegisterKind kind, int address,
                                        modbus::ValueType type = modbus::ValueType::kUInt16,
                                        int count = 0, int bit = 0) {
  config::PointConfig point;
  point.name = std::move(name);
  modbus::ModbusPointConfig& settings = modbus::edit_point_of(point);
  settings.kind = kind;
  settings.address = address;
  settings.type = type;
  settings.count = count;
  settings.bit = bit;
  return point;
}

/// A device named `name` with these points and Modbus settings.
inline config::DeviceConfig modbus_device(std::string name, std::vector<config::PointConfig> points,
                                          const modbus::ModbusDeviceConfig& settings = {}) {
  config::DeviceConfig device;
  device.name = std::move(name);
  device.settings = std::make_shared<const modbus::ModbusDeviceConfig>(settings);
  device.points = std::move(points);
  return device;
}

}  // namespace fieldgate::test_support
