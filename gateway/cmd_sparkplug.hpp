// `fieldgate sparkplug decode [FILE]`: a Sparkplug B payload (a file, or
// standard input) as JSON, for troubleshooting what a host sent or what the
// gateway published (`mosquitto_sub -F %p`). Bounded like the gateway's own
// decoder: at most 1 MiB is read, and the same limits apply.
#pragma once

namespace CLI {
class App;
}

namespace fieldgate::gateway {

/// Adds the `sparkplug` command and its `decode` subcommand, which sets `exit_code`.
void add_sparkplug_command(CLI::App& app, int& exit_code);

}  // namespace fieldgate::gateway
