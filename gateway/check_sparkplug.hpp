// What `fieldgate check` says about [sparkplug]: the edge node's topics and
// every device's metrics (name, alias, datatype, unit, writable) as the
// births will carry them, and the settings Sparkplug makes moot (topic
// templates, per-device topics and QoS, retain) when they are set anyway.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace fieldgate::gateway {

/// The report of `config` (null without [sparkplug]).
[[nodiscard]] nlohmann::json sparkplug_report(const config::Config& config);

/// The report as text, for `check` without --json.
void print_sparkplug(const nlohmann::json& report, std::ostream& out);

}  // namespace fieldgate::gateway
