// The configuration of `fieldgate run`: the --broker and --log-level options
// applied to it, and what a reload (SIGHUP) may change while it runs.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/commands.hpp"

namespace fieldgate::gateway {

/// `--broker URI` over [mqtt] broker (and TLS from its scheme).
void apply_broker_override(config::Config& config, const std::string& broker);

/// [gateway] log_level, unless --log-level was given.
void apply_log_level(const RunOptions& options, const config::Config& config);

/// What a reload cannot change without a restart (they own open resources),
/// in words for the log; empty when nothing of it changed.
[[nodiscard]] std::vector<std::string> restart_only_changes(const config::Config& old_config,
                                                            const config::Config& new_config);

}  // namespace fieldgate::gateway
