// The subcommands of the fieldgate binary. Each takes its parsed options and
// returns the process exit code; cli.cpp maps the command line onto them.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "drivers/simulator.hpp"

namespace fieldgate::gateway {

/// Exit codes shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitConfigError = 1;  // the configuration (or a command-line value) is wrong
inline constexpr int kExitReadFailed = 2;   // `poll --once`: at least one point could not be read
inline constexpr int kExitWriteFailed = 2;  // `write`: the device refused it or did not answer
inline constexpr int kExitWriteRejected = 3;  // `write`: refused before any bus traffic
inline constexpr int kExitStartFailed = 3;    // `run`: the buffer could not be opened
// `run`: the buffer's seq bookkeeping is damaged (sysexits' EX_DATAERR); its
// rows are intact and left untouched. A restart cannot help either: the
// systemd unit does not restart on it (RestartPreventExitStatus).
inline constexpr int kExitBufferDamaged = 65;
// `run`: the configuration is wrong (sysexits' EX_CONFIG). The systemd unit
// does not restart on it (RestartPreventExitStatus=78): a restart cannot help.
inline constexpr int kExitServiceConfig = 78;

struct CheckOptions {
  std::string config_path;
  bool json = false;
  /// Poll every device once (reads only) and show what it answered and what
  /// the driver discovered (SunSpec models); without it check sends nothing.
  bool probe = false;
};
/// Validates the file; on success prints the poll plan.
int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

struct PollOptions {
  std::string config_path;
  std::string device;  // empty: every device
  bool once = false;
  bool json = false;
  bool raw = false;  // also print every frame as received (drivers that frame bytes themselves)
  std::optional<std::chrono::milliseconds> duration;  // stop after this long
};
/// Reads and prints readings with no uplink, until SIGINT/SIGTERM or `duration`.
int run_poll(const PollOptions& options, std::ostream& out, std::ostream& err);

struct RunOptions {
  std::string config_path;
  std::string broker;                 // overrides [mqtt] broker when not empty
  bool log_level_from_config = true;  // false when --log-level was given
  /// Drivers find out again what they kept from an earlier run (the SunSpec
  /// layout in the buffer's meta) instead of trusting it.
  bool rediscover = false;
};
/// The gateway: drivers → store → broker, until SIGINT/SIGTERM; SIGHUP reloads.
int run_gateway(const RunOptions& options, std::ostream& err);

struct WriteOptions {
  std::string config_path;
  std::string device;
  std::string point;
  std::string value;  // as an MQTT payload: "21.5", "true", "on", text, or JSON
  bool json = false;
};
/// Writes one value with the same checks as an MQTT command, reads it back, prints both.
int run_write(const WriteOptions& options, std::ostream& out, std::ostream& err);

struct HomeAssistantOptions {
  std::string config_path;
  bool dry_run = false;  // required: publishing is `run`'s job
};
/// Prints the Home Assistant discovery configs (topic, payload) as a JSON array.
int run_homeassistant(const HomeAssistantOptions& options, std::ostream& out, std::ostream& err);

struct ModelsOptions {
  std::string name;               // `models show NAME`; empty: list them all
  std::vector<std::string> dirs;  // --models-dir; empty: config::default_model_dirs()
  bool json = false;
};
/// Lists the device library's models (checking every file) or prints one model's map.
int run_models(const ModelsOptions& options, std::ostream& out, std::ostream& err);

/// Starts `simulator` (its options parsed), serves until SIGINT/SIGTERM or
/// `duration`, then prints what it did.
int run_simulator(drivers::Simulator& simulator, std::optional<std::chrono::milliseconds> duration,
                  std::ostream& out, std::ostream& err);

}  // namespace fieldgate::gateway
