#include <algorithm>
#include <mutex>
#include <ostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/command_startup.hpp"
#include "gateway/commands.hpp"
#include "gateway/reading_format.hpp"
#include "gateway/scheduler.hpp"
#include "gateway/signals.hpp"

namespace fieldgate::gateway {

int run_poll(const PollOptions& options, std::ostream& out, std::ostream& err) {
  const auto startup = CommandStartup::load(options.config_path, err);
  if (!startup) return kExitConfigError;
  const config::Config* config = &startup->config();
  if (!startup->create_drivers(err, options.device)) return kExitConfigError;
  auto& drivers = startup->drivers();

  std::size_t device_width = 0;
  std::size_t point_width = 0;
  for (const auto& device : config->devices) {
    device_width = std::max(device_width, device.name.size());
    for (const auto& point : device.points) point_width = std::max(point_width, point.name.size());
  }

  // Workers call the sink concurrently; one line at a time reaches the terminal.
  std::mutex out_mutex;
  bool any_failed = false;
  auto sink = [&](Batch&& batch) {
    std::lock_guard lock(out_mutex);
    for (const auto& reading : batch) {
      if (reading.quality != Quality::kGood) any_failed = true;
      if (options.json) {
        out << json_line(to_json(reading)) << '\n';
      } else {
        out << format_reading(reading, device_width, point_width) << '\n';
      }
    }
    out.flush();
  };
  if (options.raw) {
    // Frames are printed as they are read, between the readings they produce.
    for (auto& driver : drivers) {
      driver->set_raw_frame_sink([&](const drivers::RawFrame& frame) {
        std::lock_guard lock(out_mutex);
        if (options.json) {
          out << json_line(to_json(frame)) << '\n';
        } else {
          out << format_raw_frame(frame, device_width) << '\n';
        }
        out.flush();
      });
    }
  }

  SignalWaiter signals;  // before the workers start, so they inherit the mask
  Scheduler scheduler(*config, std::move(drivers), sink);
  if (options.once) {
    scheduler.poll_once();
  } else {
    scheduler.start();
    signals.wait_for_stop(options.duration);
    scheduler.stop();
  }

  err << "\ndevice health:\n";
  for (const auto& status : scheduler.status()) {
    err << fmt::format("  {:<{}}  {}\n", status.device, device_width, format_health(status.health));
    // What a discovering driver found on the device (SunSpec models and where).
    if (!status.health.discovered.empty()) {
      err << fmt::format("  {:<{}}  {}\n", "", device_width, status.health.discovered);
    }
  }
  return options.once && any_failed ? kExitReadFailed : kExitOk;
}

}  // namespace fieldgate::gateway
