// Design notes.
//  * Requests per cycle: the driver polls the map with force (every group,
//    as one cycle), the register bank counts what it answered; the minimum
//    comes from a dynamic programme over each (interval, kind) group sorted
//    by address, independent of plan.cpp's greedy sweep: the fewest runs of
//    consecutive points each of which fits one request (span within
//    max_registers / max_bits, no hole wider than max_gap).
//  * RTU: PtyPacer gives the pty pair a baud rate. The pacing is checked
//    first by sending a read request by hand and time-stamping every byte
//    of the reply as it arrives on the gateway's side of the pair.
#include "bench/modbus_bench.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "bench/pty_pacer.hpp"
#include "bench/register_bank.hpp"
#include "drivers/modbus/link.hpp"
#include "drivers/modbus/plan.hpp"
#include "drivers/modbus/settings.hpp"
#include "drivers/registry.hpp"
#include "drivers/sim/modbus_server.hpp"

namespace fieldgate::bench {
namespace {

using Clock = std::chrono::steady_clock;

int length_of(const modbus::ModbusPointConfig& p) {
  return modbus::is_bit_kind(p.kind) ? 1 : modbus::register_count(p.type, p.count);
}

std::size_t minimum_requests(const config::DeviceConfig& device) {
  const modbus::ModbusDeviceConfig& settings = modbus::device_of(device);
  if (settings.single_point_reads) return device.points.size();
  std::map<std::tuple<std::int64_t, int>, std::vector<std::pair<int, int>>> groups;
  for (const auto& p : device.points) {
    const modbus::ModbusPointConfig& m = modbus::point_of(p);
    groups[{device.interval_of(p).count(), static_cast<int>(m.kind)}].emplace_back(m.address,
                                                                                   length_of(m));
  }
  std::size_t total = 0;
  for (auto& [key, pts] : groups) {
    std::sort(pts.begin(), pts.end());
    const bool bits = modbus::is_bit_kind(static_cast<modbus::RegisterKind>(std::get<1>(key)));
    const int limit = bits ? settings.max_bits : settings.max_registers;
    const std::size_t n = pts.size();
    std::vector<std::size_t> best(n + 1, SIZE_MAX);
    best[0] = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (best[i] == SIZE_MAX) continue;
      int end = pts[i].first + pts[i].second;
      for (std::size_t j = i; j < n; ++j) {  // points i..j in one request
        if (j > i) {
          if (pts[j].first - end > settings.max_gap) break;
          end = std::max(end, pts[j].first + pts[j].second);
        }
        if (end - pts[i].first > limit) break;
        best[j + 1] = std::min(best[j + 1], best[i] + 1);
      }
    }
    total += best[n];
  }
  return total;
}

std::uint16_t crc16(const std::uint8_t* data, std::size_t n) {
  std::uint16_t crc = 0xFFFF;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int b = 0; b < 8; ++b) crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
  }
  return crc;
}

// Sends "read input registers 0..count-1 of unit 1" by hand and time-stamps
// each byte of the reply as it arrives. Returns the arrival times in µs.
std::vector<double> reply_byte_times(const std::string& port, int count) {
  const int fd = ::open(port.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("rtu: cannot open " + port);
  std::uint8_t req[8] = {1, 4, 0, 0, 0, static_cast<std::uint8_t>(count), 0, 0};
  const auto crc = crc16(req, 6);
  req[6] = static_cast<std::uint8_t>(crc & 0xFF);
  req[7] = static_cast<std::uint8_t>(crc >> 8);
  const std::size_t expect = 5 + 2 * static_cast<std::size_t>(count);
  std::vector<Clock::time_point> stamps;
  if (::write(fd, req, sizeof req) != static_cast<ssize_t>(sizeof req)) {
    ::close(fd);
    throw std::runtime_error("rtu: write failed");
  }
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  while (stamps.size() < expect && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    std::uint8_t buf[256];
    const auto n = ::read(fd, buf, sizeof buf);
    const auto now = Clock::now();
    for (ssize_t k = 0; k < n; ++k) stamps.push_back(now);
  }
  ::close(fd);
  if (stamps.size() < expect) throw std::runtime_error("rtu: no complete reply from the simulator");
  std::vector<double> times;
  for (const auto& t : stamps) {
    times.push_back(std::chrono::duration<double, std::micro>(t - stamps.front()).count());
  }
  return times;
}

// The interval per byte as the least-squares slope of arrival time over byte
// index: a reader woken late gets several bytes at once, which shortens or
// stretches single intervals (and first-to-last, if the first byte was the
// late one) but hardly moves the slope over the whole frame.
double slope_us(const std::vector<double>& times) {
  const double n = static_cast<double>(times.size());
  double mean_k = (n - 1) / 2, mean_t = 0;
  for (double t : times) mean_t += t / n;
  double num = 0, den = 0;
  for (std::size_t k = 0; k < times.size(); ++k) {
    const double dk = static_cast<double>(k) - mean_k;
    num += dk * (times[k] - mean_t);
    den += dk * dk;
  }
  return num / den;
}

constexpr const char* kRtuConfig = R"(
[[buses]]
name = "rs485"
port = "{port}"
baud = {baud}

[[devices]]
name = "meter"
driver = "modbus-rtu"
bus = "rs485"
unit_id = 1
response_timeout = "1s"
{points}
)";

std::string rtu_points() {
  // The power meter's input table in one request (max_gap bridges 24..29)
  // and its energy registers in another: what a real meter map looks like.
  std::string out;
  const char* names[] = {"voltage_l1", "voltage_l2",  "voltage_l3",   "current_l1",
                         "current_l2", "current_l3",  "power_l1",     "power_l2",
                         "power_l3",   "power_total", "power_factor", "frequency"};
  for (int i = 0; i < 12; ++i) {
    out += fmt::format(
        "[[devices.points]]\nname = \"{}\"\nkind = \"input\"\naddress = {}\n"
        "type = \"float32\"\n",
        names[i], 2 * i);
  }
  out +=
      "[[devices.points]]\nname = \"temperature\"\nkind = \"input\"\naddress = 30\n"
      "type = \"int16\"\nscale = 0.1\n";
  out +=
      "[[devices.points]]\nname = \"status\"\nkind = \"input\"\naddress = 31\ntype = \"uint16\"\n";
  out +=
      "[[devices.points]]\nname = \"energy_import\"\nkind = \"holding\"\naddress = 0\n"
      "type = \"uint64\"\n";
  out +=
      "[[devices.points]]\nname = \"energy_export\"\nkind = \"holding\"\naddress = 4\n"
      "type = \"uint32\"\n";
  out +=
      "[[devices.points]]\nname = \"ct_ratio\"\nkind = \"holding\"\naddress = 12\n"
      "type = \"uint16\"\n";
  out +=
      "[[devices.points]]\nname = \"demand_power\"\nkind = \"holding\"\naddress = 13\n"
      "type = \"int32\"\n";
  return out;
}

// Bytes on the wire for one read request: 8 out; 5 + data back.
std::size_t reply_bytes(const modbus::ReadRequest& r) {
  const bool bits = modbus::is_bit_kind(r.kind);
  return 5 + static_cast<std::size_t>(bits ? (r.count + 7) / 8 : 2 * r.count);
}

}  // namespace

PlanResult run_plan(const std::string& config_path, int cycles) {
  auto config = config::load_config(config_path, drivers::make_default_registry().schemas());
  if (config.devices.empty()) throw std::runtime_error(config_path + ": no device");
  RegisterBank bank;
  auto& device = config.devices.front();
  modbus::ModbusDeviceConfig& settings = modbus::edit_device_of(device);
  settings.host = "127.0.0.1";
  settings.port = bank.port();
  PlanResult result;
  result.points = device.points.size();
  result.planned = modbus::plan_requests(device).size();
  result.minimum = minimum_requests(device);
  drivers::SharedResources shared;
  drivers::DriverContext ctx{config, shared};
  auto driver = drivers::make_default_registry().create(device, ctx);
  driver->poll(Clock::now(), true);  // connects; not counted
  const auto before = bank.served();
  for (int c = 0; c < cycles; ++c) {
    for (const auto& r : driver->poll(Clock::now(), true)) {
      if (r.quality != Quality::kGood) ++result.bad_readings;
    }
  }
  result.measured = static_cast<double>(bank.served() - before) / cycles;
  return result;
}

RtuResult run_rtu(int baud, int cycles) {
  PtyPacer pacer(baud);
  sim::RtuServerOptions options;
  options.device = pacer.device_port();
  options.baud = baud;
  auto server = sim::ModbusSimServer::rtu(options);
  std::atomic<bool> stop{false};
  std::thread serving([&] { server->run(stop); });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      t.join();
    }
  } join{stop, serving};

  RtuResult result;
  result.baud = baud;
  result.byte_us_theory = 11e6 / baud;
  // Three replies, the median of each figure: one descheduled moment of the
  // relay or of the reader on a busy machine should not decide it.
  std::vector<double> slopes, spans;
  for (int i = 0; i < 3; ++i) {
    const auto times = reply_byte_times(pacer.gateway_port(), 32);
    slopes.push_back(slope_us(times));
    spans.push_back(times.back() / static_cast<double>(times.size() - 1));
  }
  std::sort(slopes.begin(), slopes.end());
  std::sort(spans.begin(), spans.end());
  result.byte_us_measured = slopes[1];
  result.byte_us_first_to_last = spans[1];

  const auto config = config::load_config_string(
      fmt::format(fmt::runtime(kRtuConfig), fmt::arg("port", pacer.gateway_port()),
                  fmt::arg("baud", baud), fmt::arg("points", rtu_points())),
      "bench-rtu.toml", drivers::make_default_registry().schemas());
  const auto& device = config.devices.front();
  const auto plan = modbus::plan_requests(device);
  result.requests_per_cycle = static_cast<int>(plan.size());
  const double char_ms = 11e3 / baud;
  const double t35_ms =
      std::chrono::duration<double, std::milli>(modbus::ModbusLink::t35(baud)).count();
  for (const auto& r : plan) {
    result.cycle_ms_theory += static_cast<double>(8 + reply_bytes(r)) * char_ms + 2 * t35_ms;
  }
  drivers::SharedResources shared;
  drivers::DriverContext ctx{config, shared};
  auto driver = drivers::make_default_registry().create(device, ctx);
  driver->poll(Clock::now(), true);  // opens the port; not counted
  const auto start = Clock::now();
  for (int c = 0; c < cycles; ++c) {
    for (const auto& r : driver->poll(Clock::now(), true)) {
      if (r.quality != Quality::kGood) ++result.bad_readings;
    }
  }
  result.cycle_ms_measured =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count() / cycles;
  driver->close();
  return result;
}

}  // namespace fieldgate::bench
