#include <atomic>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "drivers/sim/modbus_server.hpp"
#include "gateway/commands.hpp"
#include "gateway/signals.hpp"

namespace fieldgate::gateway {
namespace {

std::optional<config::Parity> parse_parity(const std::string& text) {
  if (text == "none") return config::Parity::kNone;
  if (text == "even") return config::Parity::kEven;
  if (text == "odd") return config::Parity::kOdd;
  return std::nullopt;
}

}  // namespace

int run_simulate(const SimulateOptions& options, std::ostream& out, std::ostream& err) {
  std::unique_ptr<sim::ModbusSimServer> server;
  std::string where;
  try {
    if (options.transport == "modbus-tcp") {
      server = sim::ModbusSimServer::tcp({options.host, options.port}, options.profile);
      where = fmt::format("Modbus TCP on {}:{}", options.host, server->port());
    } else {
      const auto parity = parse_parity(options.parity);
      if (!parity) {
        err << fmt::format("--parity: expected none, even or odd, got \"{}\"\n", options.parity);
        return kExitConfigError;
      }
      sim::RtuServerOptions rtu;
      rtu.device = options.device;
      rtu.baud = options.baud;
      rtu.parity = *parity;
      rtu.unit_id = options.unit_id;
      server = sim::ModbusSimServer::rtu(rtu, options.profile);
      where = fmt::format("Modbus RTU on {} ({} baud, unit {})", options.device, options.baud,
                          options.unit_id);
    }
  } catch (const std::exception& e) {
    err << "fieldgate simulate: " << e.what() << '\n';
    return kExitConfigError;
  }
  // Scripts and tests wait for this line (and read the port from it).
  out << fmt::format("simulating {} on {}", options.profile, where) << std::endl;

  SignalWaiter signals;
  std::atomic<bool> stop{false};
  std::thread serving([&] { server->run(stop); });
  signals.wait_for_stop(options.duration);
  stop = true;
  serving.join();
  err << fmt::format("served {} requests\n", server->requests_served());
  return kExitOk;
}

}  // namespace fieldgate::gateway
