// The `fieldgate queue` command on the binary's command line; the tool is
// in queue/ (queue_command.hpp).
#pragma once

namespace CLI {
class App;
}

namespace fieldgate::gateway {

/// Adds the `queue` command and its subcommands; a subcommand that ran sets
/// `exit_code`.
void add_queue_command(CLI::App& app, int& exit_code);

}  // namespace fieldgate::gateway
