#include "tests/fault/fault_rig.hpp"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;

std::string meter_toml(const std::string& name, int port, int points, const std::string& interval) {
  std::string s = fmt::format(R"(
[[devices]]
name = "{}"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "{}"
response_timeout = "500ms"
backoff_max = "1s"
)",
                              name, port, interval);
  for (int i = 0; i < points; ++i) {
    s += fmt::format(R"(
[[devices.points]]
name = "r{}"
kind = "input"
address = {}
type = "float32"
)",
                     i, 2 * i);
  }
  return s;
}

}  // namespace

bool soak() {
  const char* v = std::getenv("FIELDGATE_SOAK");
  return v != nullptr && std::string(v) == "1";
}

int iterations(int short_count, int soak_count) {
  return soak() ? soak_count : short_count;
}

std::uint64_t fault_seed(const std::string& scenario) {
  std::uint64_t seed = 0;
  if (const char* v = std::getenv("FIELDGATE_FAULT_SEED"); v != nullptr && *v != '\0') {
    seed = std::strtoull(v, nullptr, 10);
  } else {
    seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  }
  std::printf("[ seed ] %s: FIELDGATE_FAULT_SEED=%llu replays it\n", scenario.c_str(),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

void Tally::add(const CheckReport& r) {
  ++iterations;
  accepted += r.accepted;
  received += r.received;
  lost += r.lost > 0 ? static_cast<std::uint64_t>(r.lost) : 0;
  lost_by_broker += r.lost_by_broker;
  dropped += r.dropped;
  duplicates += r.duplicates;
  reordered += r.reordered;
  reordered_by_broker += r.reordered_by_broker;
}

void Tally::print(const std::string& scenario, std::uint64_t seed) const {
  std::printf(
      "FAULT-FIGURES scenario=%s seed=%llu iterations=%d accepted=%llu received=%llu lost=%llu "
      "lost_by_killed_broker=%llu dropped=%llu duplicates=%llu reordered=%llu "
      "reordered_by_broker=%llu\n",
      scenario.c_str(), static_cast<unsigned long long>(seed), iterations,
      static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(lost_by_broker),
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(duplicates),
      static_cast<unsigned long long>(reordered),
      static_cast<unsigned long long>(reordered_by_broker));
  std::fflush(stdout);
}

FaultRig::FaultRig(RigOptions options) : options_(std::move(options)) {
  db_ = ((options_.db_dir.empty() ? dir_.path() : std::filesystem::path(options_.db_dir)) /
         "buffer.db")
            .string();
  for (int m = 0; m < options_.meters; ++m) {
    auto meter = std::make_unique<ChildProcess>(
        std::vector<std::string>{kBinary, "simulate", "modbus-tcp", "--port", "0"}, dir_.path());
    if (!meter->wait_for_output("simulating", 10s)) {
      throw std::runtime_error("simulator did not start: " + meter->stderr_text());
    }
    const auto out = meter->stdout_text();
    meter_ports_.push_back(std::stoi(out.substr(out.rfind(':') + 1)));
    meters_.push_back(std::move(meter));
  }
  BrokerOptions broker_options;
  broker_options.persistent = options_.persistent_broker;
  broker_ = std::make_unique<Mosquitto>(dir_.path() / "broker", broker_options);
  proxy_ = std::make_unique<TcpProxy>(broker_->port(), &tap_);
  sub_proxy_ = std::make_unique<TcpProxy>(broker_->port(), &sub_tap_);
  sub_ = std::make_unique<Subscriber>("tcp://127.0.0.1:" + std::to_string(sub_proxy_->port()),
                                      "fieldgate/gw/#", options_.qos);
  if (options_.persistent_broker) {
    // The subscription must be in the broker's snapshot before any kill.
    const auto snapshot = dir_.path() / "broker" / "mosquitto.db";
    wait_until([&] { return std::filesystem::exists(snapshot); }, 10s);
    std::error_code ec;
    const auto first = std::filesystem::last_write_time(snapshot, ec);
    wait_until([&] { return std::filesystem::last_write_time(snapshot, ec) != first; }, 10s);
  }
  write_config();
}

FaultRig::~FaultRig() {
  if (gateway_) kill_gateway();
}

void FaultRig::write_config(bool drain) {
  std::string devices;
  for (int m = 0; m < options_.meters; ++m) {
    devices += meter_toml(fmt::format("meter{}", m), meter_ports_[static_cast<std::size_t>(m)],
                          options_.points, drain ? "1h" : options_.poll_interval);
  }
  if (!drain) devices += options_.extra_devices;
  config_ = dir_.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
durability = "{}"
commit_interval = "50ms"
{}
[mqtt]
broker = "tcp://127.0.0.1:{}"
qos = {}
keepalive = "{}"
clean_session = {}
connect_timeout = "2s"
status_interval = "5s"
drain_timeout = "5s"
reconnect_min = "50ms"
reconnect_max = "500ms"
{}
{}
)",
                                                   db_, options_.durability, options_.store_extra,
                                                   proxy_->port(), options_.qos, options_.keepalive,
                                                   options_.clean_session ? "true" : "false",
                                                   options_.mqtt_extra, devices));
}

void FaultRig::start_gateway() {
  if (gateway_) kill_gateway();
  gateway_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBinary, "run", "-c", config_.string()}, dir_.path());
  gateway_exit_.reset();
}

void FaultRig::kill_gateway() {
  if (!gateway_) return;
  if (!gateway_exit_) {
    ::kill(gateway_->pid(), SIGKILL);
    gateway_->wait_exit(10s);
  }
  old_logs_ += gateway_->stderr_text();
  gateway_.reset();
  // What it had reserved beyond what it handed out is never used (the next
  // process starts above it).
  try {
    const auto a = accepted();
    if (a.reserved_upto > a.last_seq) skipped_.emplace_back(a.last_seq + 1, a.reserved_upto);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fault rig: no queue stats after the kill: %s\n", e.what());
  }
}

int FaultRig::stop_gateway() {
  if (!gateway_) return 0;
  if (!gateway_exit_) {
    ::kill(gateway_->pid(), SIGTERM);
    gateway_exit_ = gateway_->wait_exit(30s);
  }
  const int code = *gateway_exit_;
  old_logs_ += gateway_->stderr_text();
  gateway_.reset();
  return code;
}

bool FaultRig::gateway_running() {
  if (!gateway_) return false;
  if (!gateway_exit_) {
    // wait_exit() reaps: remember the code, a second waitpid() would not find it.
    const int code = gateway_->wait_exit(20ms);
    if (code != -1) gateway_exit_ = code;
  }
  return !gateway_exit_;
}

void FaultRig::kill_broker(std::chrono::milliseconds down) {
  broker_->kill();       // with persistence, after its next autosave
  tap_.broker_killed();  // now: what it confirmed while waiting was still its own
  std::this_thread::sleep_for(down);
  broker_->restart();
}

std::size_t FaultRig::received_distinct(const std::set<std::uint64_t>& plus) const {
  std::set<std::uint64_t> seqs = plus;
  for (const auto& m : sub_->messages()) {
    if (!not_a_reading(m.topic)) seqs.insert(json_seq(m.payload));
  }
  return seqs.size();
}

bool FaultRig::wait_progress(std::size_t n, std::chrono::milliseconds timeout) {
  const auto target = received_distinct() + n;
  return wait_until([&] { return received_distinct() >= target; }, timeout);
}

std::uint64_t FaultRig::skipped_count() const {
  std::uint64_t n = 0;
  for (const auto& [first, last] : skipped_) n += last - first + 1;
  return n;
}

Accepted FaultRig::accepted() {
  Accepted a;
  const auto stats = run_command({kBinary, "queue", "stats", "--json", "--db", db_}, dir_.path());
  if (stats.exit_code != 0) throw std::runtime_error("queue stats failed: " + stats.err);
  const auto j = nlohmann::json::parse(stats.out);
  a.last_seq = j.at("next_seq").get<std::uint64_t>() - 1;
  a.reserved_upto = j.at("reserved_upto").get<std::uint64_t>();
  a.skipped = skipped_;
  const auto& d = j.at("dropped");
  a.dropped = d.at("oldest").get<std::uint64_t>() + d.at("newest").get<std::uint64_t>() +
              d.at("expired").get<std::uint64_t>();
  if (j.at("rows").get<std::uint64_t>() > 0) {
    const auto ls = run_command({kBinary, "queue", "ls", "--json", "--limit", "0", "--db", db_},
                                dir_.path(), 60s);
    std::istringstream lines(ls.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty())
        a.still_buffered.insert(nlohmann::json::parse(line).at("seq").get<std::uint64_t>());
    }
  }
  return a;
}

CheckReport FaultRig::finish(const std::set<std::uint64_t>& excused) {
  Accepted a;
  for (int round = 0; round < 4; ++round) {
    if (gateway_) {
      const int code = stop_gateway();
      if (code != 0) {
        throw std::runtime_error(fmt::format("gateway exited with {}:\n{}", code, gateway_log()));
      }
    }
    a = accepted();
    if (a.still_buffered.empty() || round == 3) break;
    write_config(true);
    start_gateway();
    ++drain_restarts_;
    // Until the subscriber has everything the store accepted so far and the
    // store is empty. The subscriber alone is not enough: a QoS 2 reading it
    // already has may still wait for its PUBCOMP, and a stop before that
    // leaves it buffered again, round after round.
    wait_until(
        [&] {
          const auto now = accepted();
          return now.still_buffered.empty() &&
                 received_distinct(excused) + now.dropped + skipped_count() >= now.last_seq;
        },
        30s);
  }
  write_config(false);
  const auto expected =
      a.last_seq - std::min(a.last_seq, a.dropped + a.still_buffered.size() + skipped_count());
  wait_until([&] { return received_distinct(excused) >= expected; }, 30s);
  std::this_thread::sleep_for(200ms);      // late duplicates
  const auto messages = sub_->messages();  // first: the link has seen at least these
  return check_delivery(messages, a, excused, broker_overtakes(sub_tap_.broker_publishes()));
}

std::string FaultRig::gateway_log(bool whole) const {
  auto text = old_logs_ + (gateway_ ? gateway_->stderr_text() : "");
  if (!whole && text.size() > 6000) text = "…" + text.substr(text.size() - 6000);
  return text;
}

}  // namespace fieldgate::testing
