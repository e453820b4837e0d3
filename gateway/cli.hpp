// The command line of the fieldgate binary (CLI11).
#pragma once

namespace fieldgate::gateway {

/// Parses argv, runs the chosen subcommand and returns the exit code.
int run_cli(int argc, char** argv);

}  // namespace fieldgate::gateway
