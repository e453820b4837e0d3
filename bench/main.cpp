// fieldgate-bench: the measuring parts of bench/run, one subcommand each,
// every result one JSON object on stdout. bench/run starts the broker and the
// simulators, runs `fieldgate run` and reads /proc; see docs/PERFORMANCE.md.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/backlog.hpp"
#include "bench/floor_common.hpp"
#include "bench/modbus_bench.hpp"
#include "bench/mqtt_rates.hpp"
#include "bench/subscriber.hpp"

using namespace fieldgate::bench;
using nlohmann::json;

namespace {

volatile std::sig_atomic_t g_stop = 0;

json to_json(const RateResult& r) {
  return {{"sent", r.sent},
          {"received", r.received},
          {"seconds", r.seconds},
          {"rate", r.rate},
          {"avg_payload", r.avg_payload}};
}

// Prints a progress line every 500 ms until SIGTERM/SIGINT, `duration`, or
// (with --watch-seq) until every watched reading has arrived.
int subscribe(const std::string& broker, const std::string& filter, int qos,
              std::uint64_t watch_seq, double duration_s) {
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  Subscriber sub(broker, filter, qos, std::chrono::seconds(10), watch_seq, watch_seq);
  std::cout << json{{"ready", unix_ms()}}.dump() << std::endl;
  const auto start = std::chrono::steady_clock::now();
  auto line = [&] {
    const auto c = sub.counts();
    return json{{"t_ms", unix_ms()},
                {"messages", c.messages},
                {"payload_bytes", c.payload_bytes},
                {"up_to_seq", c.up_to_seq},
                {"first_ms", c.first_ms},
                {"last_ms", c.last_ms},
                {"watched_done_ms", c.watched_done_ms},
                {"cpu_s", floor::process_cpu_s()}};
  };
  while (g_stop == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::cout << line().dump() << std::endl;
    if (watch_seq > 0 && sub.counts().up_to_seq >= watch_seq) break;
    if (duration_s > 0 &&
        std::chrono::steady_clock::now() - start > std::chrono::duration<double>(duration_s)) {
      break;
    }
  }
  std::cout << line().dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fieldgate benchmark parts (run by bench/run)"};
  app.require_subcommand(1);
  spdlog::set_level(spdlog::level::warn);

  RateOptions rate;
  auto* baseline = app.add_subcommand("baseline", "plain Paho publisher → broker → subscriber");
  auto* e2e =
      app.add_subcommand("e2e", "synthetic driver → scheduler → store → forwarder → subscriber");
  for (auto* cmd : {baseline, e2e}) {
    cmd->add_option("--broker", rate.broker)->required();
    cmd->add_option("--qos", rate.qos)->check(CLI::Range(0, 2));
    cmd->add_option("--count", rate.count);
    cmd->add_option("--window", rate.window);
    cmd->add_option("--window-qos2", rate.window_qos2);
    cmd->add_option("--subscriber-qos", rate.subscriber_qos, "default: the publisher's");
  }
  e2e->add_option("--db", rate.db)->required();
  e2e->add_flag("--full", rate.durability_full, "durability = \"full\"");
  e2e->add_flag("--spill", rate.spill, "[store] mode = \"spill\"");

  std::string broker, filter = "bench/#";
  int qos = 1;
  std::uint64_t watch_seq = 0;
  double duration = 0;
  auto* sub = app.add_subcommand("subscribe", "count messages, progress as JSON lines");
  sub->add_option("--broker", broker)->required();
  sub->add_option("--topic", filter);
  sub->add_option("--qos", qos);
  sub->add_option("--watch-seq", watch_seq, "exit once every reading with seq <= this arrived");
  sub->add_option("--duration", duration, "seconds; 0 = until SIGTERM");

  std::string config_path;
  std::uint64_t count = 0;
  auto* fill = app.add_subcommand("prefill", "fill the configured store with readings");
  fill->add_option("-c,--config", config_path)->required();
  fill->add_option("--count", count)->required();

  int cycles = 10;
  auto* plan = app.add_subcommand("modbus-plan", "requests per poll cycle of the first device");
  plan->add_option("-c,--config", config_path)->required();
  plan->add_option("--cycles", cycles);

  int baud = 9600;
  auto* rtu = app.add_subcommand("rtu", "RTU poll-cycle time on a paced pty pair");
  rtu->add_option("--baud", baud);
  rtu->add_option("--cycles", cycles);

  CLI11_PARSE(app, argc, argv);
  try {
    if (*baseline) std::cout << to_json(run_baseline(rate)).dump() << '\n';
    if (*e2e) std::cout << to_json(run_e2e(rate)).dump() << '\n';
    if (*sub) return subscribe(broker, filter, qos, watch_seq, duration);
    if (*fill) std::cout << json{{"last_seq", prefill(config_path, count)}}.dump() << '\n';
    if (*plan) {
      const auto r = run_plan(config_path, cycles);
      std::cout << json{{"points", r.points},
                        {"planned", r.planned},
                        {"measured", r.measured},
                        {"minimum", r.minimum},
                        {"bad_readings", r.bad_readings}}
                       .dump()
                << '\n';
    }
    if (*rtu) {
      const auto r = run_rtu(baud, cycles);
      std::cout << json{{"baud", r.baud},
                        {"byte_us_theory", r.byte_us_theory},
                        {"byte_us_measured", r.byte_us_measured},
                        {"byte_us_first_to_last", r.byte_us_first_to_last},
                        {"cycle_ms_measured", r.cycle_ms_measured},
                        {"cycle_ms_theory", r.cycle_ms_theory},
                        {"requests_per_cycle", r.requests_per_cycle},
                        {"bad_readings", r.bad_readings}}
                       .dump()
                << '\n';
    }
  } catch (const std::exception& e) {
    std::cerr << "fieldgate-bench: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
