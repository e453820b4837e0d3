// `fieldgate scan {rtu,tcp}` on the binary's command line: find what is on a
// Modbus bus (docs/SCAN.md). The bus side is drivers/modbus_scan.hpp.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace fieldgate::gateway {

/// Exit code of `scan` when the line cannot be opened (locked by a running
/// gateway, missing port, TCP endpoint refusing).
inline constexpr int kExitScanLineUnavailable = 2;

/// Adds the `scan` command and its `rtu` and `tcp` subcommands; the one that
/// ran sets `exit_code`.
void add_scan_command(CLI::App& app, const std::string& log_level, int& exit_code);

}  // namespace fieldgate::gateway
