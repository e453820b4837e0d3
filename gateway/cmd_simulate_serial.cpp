// `fieldgate simulate serial`: a simulated serial instrument (drivers/sim/
// serial_sim.hpp) writing to a serial port or one end of a pty pair.
#include <atomic>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "drivers/sim/serial_sim.hpp"
#include "gateway/commands.hpp"
#include "gateway/signals.hpp"

namespace fieldgate::gateway {

int run_simulate_serial(const SimulateSerialOptions& options, std::ostream& out,
                        std::ostream& err) {
  std::unique_ptr<sim::SerialCardioSim> sim;
  try {
    sim::SerialSimOptions sim_options;
    sim_options.device = options.device;
    sim_options.baud = options.baud;
    sim_options.rate = options.rate;
    sim_options.faults = options.faults;
    sim = std::make_unique<sim::SerialCardioSim>(sim_options, options.profile);
  } catch (const std::exception& e) {
    err << "fieldgate simulate serial: " << e.what() << '\n';
    return kExitConfigError;
  }
  // Scripts and tests wait for this line.
  out << fmt::format("simulating {} on {} ({} baud, {} lines/s{})", options.profile, options.device,
                     options.baud, options.rate,
                     options.faults ? ", with noise, checksum errors and dropouts" : "")
      << std::endl;

  SignalWaiter signals;  // before the writer thread, so it inherits the mask
  std::atomic<bool> stop{false};
  std::thread writing([&] { sim->run(stop); });
  signals.wait_for_stop(options.duration);
  stop = true;
  writing.join();
  const auto stats = sim->stats();
  err << fmt::format(
      "wrote {} lines ({} with a wrong checksum), {} noise bursts, {} dropouts, {} write "
      "errors\n",
      stats.lines, stats.bad_checksums, stats.noise_bursts, stats.dropouts, stats.write_errors);
  return kExitOk;
}

}  // namespace fieldgate::gateway
