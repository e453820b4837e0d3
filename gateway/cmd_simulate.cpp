// `fieldgate simulate <name>`: serves one of the simulators the drivers
// register (drivers/simulator.hpp) until SIGINT/SIGTERM or --duration.
#include <atomic>
#include <ostream>
#include <thread>

#include "gateway/commands.hpp"
#include "gateway/signals.hpp"

namespace fieldgate::gateway {

int run_simulator(drivers::Simulator& simulator, std::optional<std::chrono::milliseconds> duration,
                  std::ostream& out, std::ostream& err) {
  std::string serving;
  try {
    serving = simulator.start();
  } catch (const std::exception& e) {
    err << e.what() << '\n';
    return kExitConfigError;
  }
  // Scripts and tests wait for this line (and read a TCP port from it).
  out << serving << std::endl;

  SignalWaiter signals;  // before the serving thread, so it inherits the mask
  std::atomic<bool> stop{false};
  std::thread serve([&] { simulator.run(stop); });
  signals.wait_for_stop(duration);
  stop = true;
  serve.join();
  err << simulator.summary() << '\n';
  return kExitOk;
}

}  // namespace fieldgate::gateway
