// Simulators: the devices `fieldgate simulate <name>` serves, for tests and
// demos. A driver folder registers its simulators with the DriverRegistry;
// gateway/ makes one subcommand per simulator and knows none by name.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace fieldgate::drivers {

/// A simulator configured from its command line, ready to serve.
class Simulator {
 public:
  virtual ~Simulator() = default;

  /// Opens what it serves on (a port, a serial device). Returns the line
  /// scripts and tests wait for ("simulating power-meter on Modbus TCP on
  /// 127.0.0.1:5020"); throws SimulatorError saying why it cannot start.
  [[nodiscard]] virtual std::string start() = 0;

  /// Serves until `stop` is set; on its own thread.
  virtual void run(const std::atomic<bool>& stop) = 0;

  /// What it did, printed when it stops ("served 12 requests").
  [[nodiscard]] virtual std::string summary() const = 0;
};

/// Why a simulator cannot start; what() is printed as it is.
class SimulatorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Makes the simulator its options describe, once the command line is parsed.
using SimulatorFactory = std::function<std::unique_ptr<Simulator>()>;

/// One `fieldgate simulate <name>` subcommand.
struct SimulatorEntry {
  std::string name;         // the subcommand
  std::string description;  // its line in --help
  /// Adds the simulator's own options to its subcommand (gateway/ adds
  /// --duration after them) and returns the factory that reads them.
  std::function<SimulatorFactory(CLI::App& command)> add_options;
};

}  // namespace fieldgate::drivers
