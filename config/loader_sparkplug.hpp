// TOML → SparkplugConfig: the [sparkplug] table, and the rule tying it to
// `[mqtt] payload = "sparkplug-b"`: one without the other is an error, and
// with Sparkplug no device chooses another payload format.
#pragma once

#include "config/config.hpp"
#include "config/toml_section.hpp"

namespace fieldgate::config {

/// Reads [sparkplug] into `config.sparkplug`; needs [gateway], [mqtt] and the
/// devices read (the node's default id is the gateway's name).
void read_sparkplug(Section& s, Config& config);

}  // namespace fieldgate::config
