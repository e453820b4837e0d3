#include "gateway/cli.hpp"

#include <iostream>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/units.hpp"
#include "drivers/registry.hpp"
#include "gateway/cmd_queue.hpp"
#include "gateway/cmd_scan.hpp"
#include "gateway/cmd_sparkplug.hpp"
#include "gateway/commands.hpp"
#include "gateway/logging.hpp"
#include "gateway/version.hpp"

namespace fieldgate::gateway {
namespace {

/// A CLI11 option holding a duration such as "250ms", "5s", "2m".
void add_duration_option(CLI::App& app, const std::string& name,
                         std::optional<std::chrono::milliseconds>& target,
                         const std::string& help) {
  app.add_option_function<std::string>(
         name,
         [&target, name](const std::string& text) {
           auto parsed = config::parse_duration(text);
           if (!parsed) {
             throw CLI::ValidationError(
                 name, "expected a duration such as 500ms, 5s or 2m: " + parsed.error);
           }
           target = *parsed.value;
         },
         help)
      ->type_name("DURATION");
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "fieldgate: field sensors (Modbus TCP/RTU, serial) to MQTT, with a store-and-forward buffer"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("fieldgate ") + kVersion);
  std::string log_level = "info";
  auto* log_level_option =
      app.add_option("--log-level", log_level,
                     "trace, debug, info, warn, error (for `run`, default: [gateway] log_level)")
          ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  int exit_code = kExitOk;

  CheckOptions check;
  auto* check_cmd = app.add_subcommand(
      "check", "Validate a configuration file and print the poll plan (exit 0 valid, 1 not)");
  check_cmd->add_option("-c,--config", check.config_path, "Configuration file (TOML)")->required();
  check_cmd->add_flag("--json", check.json, "Print the plan as JSON");
  check_cmd->add_flag("--probe", check.probe,
                      "Read every device once (no writes) and show what it answered and "
                      "discovered (SunSpec models)");
  check_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_check(check, std::cout, std::cerr);
  });

  PollOptions poll;
  auto* poll_cmd =
      app.add_subcommand("poll",
                         "Read devices and print readings, without any uplink (commissioning). "
                         "Exit 0, 1 on a config error, 2 when --once could not read every point");
  poll_cmd->add_option("-c,--config", poll.config_path, "Configuration file (TOML)")->required();
  poll_cmd->add_option("--device", poll.device, "Only this device");
  poll_cmd->add_flag("--once", poll.once, "Read every point once and exit");
  poll_cmd->add_flag("--json", poll.json, "One JSON object per reading and line");
  poll_cmd->add_flag("--raw", poll.raw,
                     "Also print each frame of serial-line devices as received (escaped)");
  add_duration_option(*poll_cmd, "--duration", poll.duration, "Stop after this long (e.g. 10s)");
  poll_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_poll(poll, std::cout, std::cerr);
  });

  RunOptions run;
  auto* run_cmd = app.add_subcommand(
      "run",
      "Run the gateway: poll devices, buffer every reading, publish to MQTT. SIGINT/SIGTERM "
      "stop it cleanly, SIGHUP reloads the configuration. Under systemd (Type=notify) it reports "
      "READY, STATUS and WATCHDOG. Exit 0 after a clean stop, 78 when the configuration is wrong "
      "(the unit does not restart then), 3 when the buffer cannot be opened");
  run_cmd->add_option("-c,--config", run.config_path, "Configuration file (TOML)")->required();
  run_cmd->add_option("--broker", run.broker,
                      "Broker URI, overrides [mqtt] broker (tcp://host:1883, ssl://host:8883)");
  run_cmd->add_flag("--rediscover", run.rediscover,
                    "Walk every SunSpec device's model chain again instead of using the layout "
                    "kept in the buffer");
  run_cmd->callback([&] {
    setup_logging(log_level);
    run.log_level_from_config = log_level_option->count() == 0;
    exit_code = run_gateway(run, std::cerr);
  });

  WriteOptions write;
  auto* write_cmd = app.add_subcommand(
      "write",
      "Write one value to a writable point and read it back (commissioning), with the checks "
      "of an MQTT command. Exit 0 written, 1 config or command-line error, 2 the device "
      "refused it or did not answer, 3 refused before any bus traffic (not writable, wrong "
      "type, out of range)");
  write_cmd->add_option("-c,--config", write.config_path, "Configuration file (TOML)")->required();
  write_cmd->add_option("--device", write.device, "Device name")->required();
  write_cmd->add_option("--point", write.point, "Point name")->required();
  write_cmd->add_option("value", write.value, "21.5, true, on, text, or JSON {\"value\": ...}")
      ->required();
  write_cmd->add_flag("--json", write.json, "Print the result as JSON, as published on MQTT");
  write_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_write(write, std::cout, std::cerr);
  });

  HomeAssistantOptions homeassistant;
  auto* ha_cmd = app.add_subcommand(
      "homeassistant",
      "Print the Home Assistant MQTT discovery configs `run` publishes ([homeassistant]), as a "
      "JSON array of {topic, retain, payload}; nothing is sent. Exit 0, 1 on a config error");
  ha_cmd->add_option("-c,--config", homeassistant.config_path, "Configuration file (TOML)")
      ->required();
  ha_cmd->add_flag("--dry-run", homeassistant.dry_run, "Print, do not publish (required)")
      ->required();
  ha_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_homeassistant(homeassistant, std::cout, std::cerr);
  });

  add_queue_command(app, exit_code);
  add_scan_command(app, log_level, exit_code);
  add_sparkplug_command(app, exit_code);

  ModelsOptions models;
  auto* models_cmd = app.add_subcommand(
      "models",
      "List the device library's models (docs/MODELS.md), checking every model file; `models "
      "show NAME` prints one model's register map. Exit 0, 1 when a model file has an error or "
      "NAME is unknown");
  models_cmd->add_option("--models-dir", models.dirs,
                         "Search this directory instead of the defaults (repeatable, first match "
                         "wins)");
  models_cmd->add_flag("--json", models.json, "Print JSON");
  auto* models_show = models_cmd->add_subcommand("show", "Print one model's register map");
  models_show->add_option("name", models.name, "The model's name, e.g. eastron-sdm630")->required();
  models_show->add_flag("--json", models.json, "Print JSON");
  models_show->add_option("--models-dir", models.dirs, "As for `models`");
  models_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_models(models, std::cout, std::cerr);
  });

  const auto registry = drivers::make_default_registry();
  auto* simulate_cmd =
      app.add_subcommand("simulate", "Serve a simulated device for tests and demos");
  simulate_cmd->require_subcommand(1);
  // One subcommand per simulator the drivers register, in their order; each
  // gets the simulator's own options, then --duration.
  struct SimulateCommand {
    drivers::SimulatorFactory make;
    std::optional<std::chrono::milliseconds> duration;
  };
  std::vector<std::unique_ptr<SimulateCommand>> simulate_commands;
  for (const auto& entry : registry.simulators()) {
    auto* cmd = simulate_cmd->add_subcommand(entry.name, entry.description);
    auto& command = *simulate_commands.emplace_back(std::make_unique<SimulateCommand>());
    command.make = entry.add_options(*cmd);
    add_duration_option(*cmd, "--duration", command.duration, "Stop after this long");
    cmd->callback([&log_level, &exit_code, state = &command] {
      setup_logging(log_level);
      const auto simulator = state->make();
      exit_code = run_simulator(*simulator, state->duration, std::cout, std::cerr);
    });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace fieldgate::gateway
