// The simulators fieldgate ships, as `fieldgate simulate` subcommands:
// modbus-tcp and modbus-rtu (a profile behind a libmodbus server: the power
// meter, the SunSpec inverter or a meter of the device library) and
// serial (the cardio monitor writing lines to a serial port or pty).
#include "drivers/sim/simulators.hpp"

#include <fmt/format.h>

#include "drivers/sim/device_model.hpp"
#include "drivers/sim/modbus_server.hpp"
#include "drivers/sim/serial_sim.hpp"

namespace fieldgate::sim {
namespace {

using drivers::Simulator;
using drivers::SimulatorError;
using drivers::SimulatorFactory;

struct ModbusOptions {
  std::string profile = "power-meter";
  std::string host = "127.0.0.1";
  int port = 5020;
  std::string device;  // serial port or pty for RTU
  int baud = 9600;
  std::string parity = "none";
  int unit_id = 1;
  int holding_registers = 0;  // TCP: at least this many holding registers
};

class ModbusSimulator final : public Simulator {
 public:
  ModbusSimulator(ModbusOptions options, bool tcp) : options_(std::move(options)), tcp_(tcp) {}

  std::string start() override {
    std::string where;
    if (tcp_) {
      server_ = make([&] {
        return ModbusSimServer::tcp({options_.host, options_.port, options_.holding_registers},
                                    options_.profile);
      });
      where = fmt::format("Modbus TCP on {}:{}", options_.host, server_->port());
    } else {
      RtuServerOptions rtu;
      rtu.device = options_.device;
      rtu.baud = options_.baud;
      rtu.parity = parity();
      rtu.unit_id = options_.unit_id;
      server_ = make([&] { return ModbusSimServer::rtu(rtu, options_.profile); });
      where = fmt::format("Modbus RTU on {} ({} baud, unit {})", options_.device, options_.baud,
                          options_.unit_id);
    }
    return fmt::format("simulating {} on {}", options_.profile, where);
  }

  void run(const std::atomic<bool>& stop) override { server_->run(stop); }

  std::string summary() const override {
    return fmt::format("served {} requests", server_->requests_served());
  }

 private:
  template <class Make>
  static std::unique_ptr<ModbusSimServer> make(Make&& make_server) {
    try {
      return make_server();
    } catch (const std::exception& e) {
      throw SimulatorError(fmt::format("fieldgate simulate: {}", e.what()));
    }
  }

  Parity parity() const {
    if (options_.parity == "none") return Parity::kNone;
    if (options_.parity == "even") return Parity::kEven;
    if (options_.parity == "odd") return Parity::kOdd;
    throw SimulatorError(
        fmt::format("--parity: expected none, even or odd, got \"{}\"", options_.parity));
  }

  ModbusOptions options_;
  bool tcp_;
  std::unique_ptr<ModbusSimServer> server_;
};

struct SerialOptions {
  std::string device;  // serial port or pty to write to
  std::string profile = "cardio";
  int baud = 9600;
  double rate = 1.0;  // lines per second
  bool faults = true;
};

class SerialSimulator final : public Simulator {
 public:
  explicit SerialSimulator(SerialOptions options) : options_(std::move(options)) {}

  std::string start() override {
    try {
      SerialSimOptions sim_options;
      sim_options.device = options_.device;
      sim_options.baud = options_.baud;
      sim_options.rate = options_.rate;
      sim_options.faults = options_.faults;
      sim_ = std::make_unique<SerialCardioSim>(sim_options, options_.profile);
    } catch (const std::exception& e) {
      throw SimulatorError(fmt::format("fieldgate simulate serial: {}", e.what()));
    }
    return fmt::format("simulating {} on {} ({} baud, {} lines/s{})", options_.profile,
                       options_.device, options_.baud, options_.rate,
                       options_.faults ? ", with noise, checksum errors and dropouts" : "");
  }

  void run(const std::atomic<bool>& stop) override { sim_->run(stop); }

  std::string summary() const override {
    const auto stats = sim_->stats();
    return fmt::format(
        "wrote {} lines ({} with a wrong checksum), {} noise bursts, {} dropouts, {} write "
        "errors",
        stats.lines, stats.bad_checksums, stats.noise_bursts, stats.dropouts, stats.write_errors);
  }

 private:
  SerialOptions options_;
  std::unique_ptr<SerialCardioSim> sim_;
};

// --device, --profile and --baud, first, for a simulator on a serial port.
template <class Options>
void add_serial_port_options(CLI::App& cmd, Options& options,
                             const std::string& profile_help = "Device to simulate") {
  cmd.add_option("--device", options.device, "Serial port or pty path")->required();
  cmd.add_option("--profile", options.profile, profile_help)->capture_default_str();
  cmd.add_option("--baud", options.baud, "Baud rate")->capture_default_str();
}

// The Modbus profiles for --help: the built-in ones and the library's models
// (a directory listing, no file is read).
std::string modbus_profile_help() {
  const auto library = library_profiles();
  return fmt::format("Device to simulate: {}, or a library meter ({})",
                     fmt::join(builtin_modbus_profiles(), ", "),
                     library.empty() ? std::string("none found in the models directories")
                                     : fmt::format("{}", fmt::join(library, ", ")));
}

// A profile behind a libmodbus server: on TCP, or RTU on a serial port.
SimulatorFactory add_modbus_options(CLI::App& cmd, bool tcp) {
  auto options = std::make_shared<ModbusOptions>();
  if (tcp) {
    cmd.add_option("--profile", options->profile, modbus_profile_help())->capture_default_str();
    cmd.add_option("--host", options->host, "Address to listen on")->capture_default_str();
    cmd.add_option("--port", options->port, "TCP port (0: any free port)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    cmd.add_option("--holding-registers", options->holding_registers,
                   "Serve at least this many holding registers (the extra ones hold their "
                   "address; bench/run's fleet meters)")
        ->check(CLI::Range(0, 10000));
  } else {
    add_serial_port_options(cmd, *options, modbus_profile_help());
    cmd.add_option("--parity", options->parity, "none, even or odd")->capture_default_str();
    cmd.add_option("--unit", options->unit_id, "Unit id to answer as")
        ->capture_default_str()
        ->check(CLI::Range(1, 247));
  }
  return [options, tcp] { return std::make_unique<ModbusSimulator>(*options, tcp); };
}

SimulatorFactory add_serial_options(CLI::App& cmd) {
  auto options = std::make_shared<SerialOptions>();
  add_serial_port_options(cmd, *options);
  cmd.add_option("--rate", options->rate, "Lines per second (faster for tests)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1000.0));
  cmd.add_flag("!--no-faults", options->faults, "No noise, checksum errors or dropouts");
  return [options] { return std::make_unique<SerialSimulator>(*options); };
}

}  // namespace

void register_simulators(drivers::DriverRegistry& registry) {
  registry.add_simulator({"modbus-tcp", "Modbus TCP server (libmodbus)",
                          [](CLI::App& cmd) { return add_modbus_options(cmd, true); }});
  registry.add_simulator({"modbus-rtu", "Modbus RTU server on a serial port or pty",
                          [](CLI::App& cmd) { return add_modbus_options(cmd, false); }});
  registry.add_simulator({"serial",
                          "Serial instrument (cardio monitor) writing to a serial port or pty",
                          add_serial_options});
}

}  // namespace fieldgate::sim
