// Registers the simulators fieldgate ships (`fieldgate simulate modbus-tcp`,
// `modbus-rtu`, `serial`) with a DriverRegistry.
#pragma once

#include "drivers/registry.hpp"

namespace fieldgate::sim {

void register_simulators(drivers::DriverRegistry& registry);

}  // namespace fieldgate::sim
