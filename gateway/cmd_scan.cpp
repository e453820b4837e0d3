// `fieldgate scan rtu|tcp`: the command line, the estimate up front, the
// progress bar (stderr, only on a terminal), then the report and the snippet
// (gateway/scan_output.hpp).
#include "gateway/cmd_scan.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <memory>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "config/model_library.hpp"
#include "config/units.hpp"
#include "drivers/registry.hpp"
#include "gateway/command_startup.hpp"
#include "gateway/commands.hpp"
#include "gateway/logging.hpp"
#include "gateway/scan_output.hpp"

namespace fieldgate::gateway {
namespace {

constexpr std::size_t kMaxListText = 2048;

struct ScanCommand {
  modbus::ScanOptions scan;
  std::string units = "1-247";
  std::string bauds = "9600,19200,38400,115200";
  std::string parities = "none,even";
  std::string timeout = "200ms";
  std::string max_time = "10m";
  std::string inter_frame_delay;
  std::vector<std::string> model_dirs;
  bool json = false;
};

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    out.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// "1-247" or "1,2,5-9": in the order written, each once, within lo..hi.
std::vector<int> parse_units(std::string_view text, int lo, int hi) {
  const std::string expected =
      fmt::format("--units: expected ids {}..{} as a list and ranges (1-247 or 1,2,5-9)", lo, hi);
  if (text.empty() || text.size() > kMaxListText) throw std::invalid_argument(expected);
  std::vector<int> out;
  std::set<int> seen;
  for (const std::string_view part : split(text)) {
    const auto dash = part.find('-');
    const auto first = to_int(part.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : to_int(part.substr(dash + 1));
    if (!first || !last || *first < lo || *last > hi || *first > *last) {
      throw std::invalid_argument(fmt::format("{}, got \"{}\"", expected, part));
    }
    for (int u = *first; u <= *last; ++u) {
      if (seen.insert(u).second) out.push_back(u);
    }
  }
  return out;
}

std::vector<int> parse_bauds(std::string_view text) {
  std::vector<int> out;
  for (const std::string_view part : split(text)) {
    const auto baud = to_int(part);
    if (!baud || *baud < 300 || *baud > 4000000 || out.size() >= 16) {
      throw std::invalid_argument(fmt::format(
          "--baud: expected up to 16 baud rates 300..4000000 such as 9600,19200, got \"{}\"",
          part));
    }
    out.push_back(*baud);
  }
  return out;
}

std::vector<Parity> parse_parities(std::string_view text) {
  std::vector<Parity> out;
  for (const std::string_view part : split(text)) {
    if (part == "none" || part == "N") {
      out.push_back(Parity::kNone);
    } else if (part == "even" || part == "E") {
      out.push_back(Parity::kEven);
    } else if (part == "odd" || part == "O") {
      out.push_back(Parity::kOdd);
    } else {
      throw std::invalid_argument(
          fmt::format("--parity: expected none, even, odd (or N, E, O), got \"{}\"", part));
    }
  }
  return out;
}

std::chrono::milliseconds parse_duration_option(const std::string& name, const std::string& text,
                                                std::chrono::milliseconds lo,
                                                std::chrono::milliseconds hi) {
  const auto parsed = config::parse_duration(text);
  if (!parsed.value || *parsed.value < lo || *parsed.value > hi) {
    throw std::invalid_argument(
        fmt::format("{}: expected a duration {}..{} such as 200ms, got \"{}\"", name,
                    config::format_duration(lo), config::format_duration(hi), text));
  }
  return *parsed.value;
}

std::vector<config::Model> load_models(const std::vector<std::string>& dirs, bool rtu,
                                       std::ostream& err) {
  const config::SchemaCatalog catalog =
      make_catalog(drivers::make_default_registry(), bridge::make_default_encoders());
  const std::string driver = rtu ? "modbus-rtu" : "modbus-tcp";
  std::vector<config::Model> models;
  for (const auto& entry : config::list_models(config::model_dirs_or_default(dirs))) {
    try {
      config::Model model = config::load_model_file(entry, catalog);
      // Points are read by the schema of the first driver: a Modbus one.
      if (!model.drivers.empty() && model.drivers.front().starts_with("modbus-") &&
          std::find(model.drivers.begin(), model.drivers.end(), driver) != model.drivers.end()) {
        models.push_back(std::move(model));
      }
    } catch (const config::ConfigError& e) {
      err << "skipping a model with errors: " << e.what() << '\n';
    }
  }
  return models;
}

class ProgressBar {
 public:
  explicit ProgressBar(bool on) : on_(on) {}
  ~ProgressBar() {
    if (on_ && drawn_) std::cerr << "\r\033[K" << std::flush;
  }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void operator()(int done, int total) {
    if (!on_ || total <= 0) return;
    constexpr int kWidth = 30;
    const int filled = done * kWidth / total;
    std::cerr << fmt::format("\r[{}{}] {}/{} units", std::string(filled, '#'),
                             std::string(kWidth - filled, '.'), done, total)
              << std::flush;
    drawn_ = true;
  }

 private:
  bool on_;
  bool drawn_ = false;
};

int run_scan(ScanCommand& command, std::ostream& out, std::ostream& err) {
  modbus::ScanOptions& o = command.scan;
  try {
    o.units = parse_units(command.units, o.rtu ? 1 : 0, o.rtu ? 247 : 255);
    if (o.rtu) {
      o.bauds = parse_bauds(command.bauds);
      o.parities = parse_parities(command.parities);
      if (!command.inter_frame_delay.empty()) {
        o.inter_frame_delay =
            parse_duration_option("--inter-frame-delay", command.inter_frame_delay,
                                  std::chrono::milliseconds(0), std::chrono::milliseconds(1000));
      }
    }
    o.timeout = parse_duration_option("--timeout", command.timeout, std::chrono::milliseconds(10),
                                      std::chrono::milliseconds(10000));
    o.max_time = parse_duration_option("--max-time", command.max_time, std::chrono::seconds(1),
                                       std::chrono::hours(24));
  } catch (const std::invalid_argument& e) {
    // A wrong value on the command line: CLI11's exit code and message, as
    // for the options it checks itself.
    throw CLI::ValidationError(e.what());
  }
  const std::vector<config::Model> models = load_models(command.model_dirs, o.rtu, err);
  const auto settings = modbus::scan_settings(o);
  const auto estimate = modbus::estimate_scan_time(o);
  err << fmt::format(
      "Scanning {}: {} unit id(s) x {} setting(s), {} model(s); at most {} if "
      "every unit is silent (--max-time {}). Read requests only.\n",
      o.rtu ? o.device : fmt::format("{}:{}", o.host, o.port), o.units.size(), settings.size(),
      models.size(), config::format_duration(std::chrono::ceil<std::chrono::seconds>(estimate)),
      config::format_duration(o.max_time));
  modbus::ScanReport report;
  try {
    ProgressBar bar(::isatty(STDERR_FILENO) == 1 && !command.json);
    report = modbus::scan_bus(o, models, [&bar](int done, int total) { bar(done, total); });
  } catch (const std::runtime_error& e) {
    err << "scan: " << e.what() << '\n';
    return kExitScanLineUnavailable;
  }
  if (command.json) {
    out << report_json(o, report).dump(2) << '\n';
    return kExitOk;
  }
  out << report_text(o, report);
  const std::string snippet = config_snippet(o, report);
  if (snippet.empty()) {
    out << "Nothing answered: check wiring, termination, --baud/--parity and --units.\n";
  } else {
    out << "\n# Ready to paste into gateway.toml (check it with `fieldgate check -c FILE`):\n"
        << snippet;
  }
  err << fmt::format("Done in {}.\n", config::format_duration(report.elapsed));
  return kExitOk;
}

void add_common(CLI::App& cmd, ScanCommand& c) {
  cmd.add_option("--units", c.units, "Unit ids to try, e.g. 1-247 or 1,2,10-20")
      ->capture_default_str();
  cmd.add_option("--timeout", c.timeout, "How long to wait for each answer (a duration)")
      ->capture_default_str();
  cmd.add_option("--max-time", c.max_time,
                 "Stop after this long and say what was not tried (a duration)")
      ->capture_default_str();
  cmd.add_option("--models-dir", c.model_dirs,
                 "Search this models directory instead of the defaults (repeatable)");
  cmd.add_flag("--json", c.json, "Print the report (and the snippet) as JSON");
}

}  // namespace

void add_scan_command(CLI::App& app, const std::string& log_level, int& exit_code) {
  auto* scan = app.add_subcommand(
      "scan",
      "Find the Modbus devices on a bus: which unit ids answer, which library model or SunSpec "
      "device each is, and a [[devices]] snippet to paste. Reads only; refuses a serial port a "
      "running gateway holds. Exit 0, 2 when the line cannot be opened (locked, missing, "
      "refused)");
  scan->require_subcommand(1);
  auto rtu = std::make_shared<ScanCommand>();
  auto* rtu_cmd = scan->add_subcommand("rtu", "Scan a serial RS-485 line (Modbus RTU)");
  rtu_cmd->add_option("--device", rtu->scan.device, "Serial port, e.g. /dev/ttyUSB0")->required();
  rtu_cmd->add_option("--baud", rtu->bauds, "Baud rates to try, e.g. 9600,19200")
      ->capture_default_str();
  rtu_cmd->add_option("--parity", rtu->parities, "Parities to try: none,even,odd (or N,E,O)")
      ->capture_default_str();
  rtu_cmd->add_option("--data-bits", rtu->scan.data_bits, "Data bits")
      ->check(CLI::Range(7, 8))
      ->capture_default_str();
  rtu_cmd->add_option("--stop-bits", rtu->scan.stop_bits, "Stop bits")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  rtu_cmd->add_option("--inter-frame-delay", rtu->inter_frame_delay,
                      "Silence between frames (default: t3.5 of the baud rate)");
  add_common(*rtu_cmd, *rtu);
  rtu_cmd->callback([rtu, &log_level, &exit_code] {
    setup_logging(log_level);
    rtu->scan.rtu = true;
    exit_code = run_scan(*rtu, std::cout, std::cerr);
  });

  auto tcp = std::make_shared<ScanCommand>();
  auto* tcp_cmd = scan->add_subcommand("tcp", "Scan a Modbus TCP device or gateway");
  tcp_cmd->add_option("--host", tcp->scan.host, "Host name or address")->required();
  tcp_cmd->add_option("--port", tcp->scan.port, "TCP port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  add_common(*tcp_cmd, *tcp);
  tcp_cmd->callback([tcp, &log_level, &exit_code] {
    setup_logging(log_level);
    tcp->scan.rtu = false;
    exit_code = run_scan(*tcp, std::cout, std::cerr);
  });
}

}  // namespace fieldgate::gateway
