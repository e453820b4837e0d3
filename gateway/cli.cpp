#include "gateway/cli.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "config/units.hpp"
#include "gateway/cmd_queue.hpp"
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
  run_cmd->callback([&] {
    setup_logging(log_level);
    run.log_level_from_config = log_level_option->count() == 0;
    exit_code = run_gateway(run, std::cerr);
  });

  add_queue_command(app, exit_code);

  auto* simulate_cmd =
      app.add_subcommand("simulate", "Serve a simulated device for tests and demos");
  simulate_cmd->require_subcommand(1);
  SimulateOptions sim_tcp;
  sim_tcp.transport = "modbus-tcp";
  auto* sim_tcp_cmd = simulate_cmd->add_subcommand("modbus-tcp", "Modbus TCP server (libmodbus)");
  sim_tcp_cmd->add_option("--profile", sim_tcp.profile, "Device to simulate")
      ->capture_default_str();
  sim_tcp_cmd->add_option("--host", sim_tcp.host, "Address to listen on")->capture_default_str();
  sim_tcp_cmd->add_option("--port", sim_tcp.port, "TCP port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  add_duration_option(*sim_tcp_cmd, "--duration", sim_tcp.duration, "Stop after this long");
  sim_tcp_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_simulate(sim_tcp, std::cout, std::cerr);
  });

  SimulateOptions sim_rtu;
  sim_rtu.transport = "modbus-rtu";
  auto* sim_rtu_cmd =
      simulate_cmd->add_subcommand("modbus-rtu", "Modbus RTU server on a serial port or pty");
  sim_rtu_cmd->add_option("--device", sim_rtu.device, "Serial port or pty path")->required();
  sim_rtu_cmd->add_option("--profile", sim_rtu.profile, "Device to simulate")
      ->capture_default_str();
  sim_rtu_cmd->add_option("--baud", sim_rtu.baud, "Baud rate")->capture_default_str();
  sim_rtu_cmd->add_option("--parity", sim_rtu.parity, "none, even or odd")->capture_default_str();
  sim_rtu_cmd->add_option("--unit", sim_rtu.unit_id, "Unit id to answer as")
      ->capture_default_str()
      ->check(CLI::Range(1, 247));
  add_duration_option(*sim_rtu_cmd, "--duration", sim_rtu.duration, "Stop after this long");
  sim_rtu_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_simulate(sim_rtu, std::cout, std::cerr);
  });

  SimulateSerialOptions sim_serial;
  auto* sim_serial_cmd = simulate_cmd->add_subcommand(
      "serial", "Serial instrument (cardio monitor) writing to a serial port or pty");
  sim_serial_cmd->add_option("--device", sim_serial.device, "Serial port or pty path")->required();
  sim_serial_cmd->add_option("--profile", sim_serial.profile, "Device to simulate")
      ->capture_default_str();
  sim_serial_cmd->add_option("--baud", sim_serial.baud, "Baud rate")->capture_default_str();
  sim_serial_cmd->add_option("--rate", sim_serial.rate, "Lines per second (faster for tests)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1000.0));
  sim_serial_cmd->add_flag("!--no-faults", sim_serial.faults,
                           "No noise, checksum errors or dropouts");
  add_duration_option(*sim_serial_cmd, "--duration", sim_serial.duration, "Stop after this long");
  sim_serial_cmd->callback([&] {
    setup_logging(log_level);
    exit_code = run_simulate_serial(sim_serial, std::cout, std::cerr);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace fieldgate::gateway
