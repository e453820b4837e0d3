// `fieldgate write`: one write from the command line, for commissioning. The
// same checks as an MQTT command (writable, kind of value, min/max, allowed),
// the same driver code, then the read-back — with no gateway running, so the
// bus must be free (stop the service first on an RS-485 line).
#include <algorithm>
#include <chrono>
#include <ostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "gateway/command_check.hpp"
#include "gateway/command_router.hpp"
#include "gateway/command_startup.hpp"
#include "gateway/commands.hpp"
#include "gateway/logging.hpp"

namespace fieldgate::gateway {

int run_write(const WriteOptions& options, std::ostream& out, std::ostream& err) {
  const auto startup = CommandStartup::load(options.config_path, err);
  if (!startup) return kExitConfigError;
  const config::Config* config = &startup->config();
  const config::DeviceConfig* device = config->find_device(options.device);
  if (device == nullptr) {
    err << options.config_path << ": no device named \"" << options.device << "\"\n";
    return kExitConfigError;
  }
  const auto point = std::find_if(device->points.begin(), device->points.end(),
                                  [&](const auto& p) { return p.name == options.point; });
  if (point == device->points.end()) {
    err << options.config_path << ": device \"" << device->name << "\" has no point \""
        << options.point << "\"\n";
    return kExitConfigError;
  }

  CommandResult result;
  result.device = device->name;
  result.point = point->name;
  // Never nlohmann's default dump: it throws on bytes that are not UTF-8.
  const auto text = [](const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const auto report = [&](int code) {
    result.ts_ms = unix_ms_now();
    const std::string what =
        fmt::format("write {}/{} = {} (command line)", result.device, result.point,
                    result.value.is_null() ? "-" : json_for_log(result.value));
    if (result.status == "ok") {
      audit_log(spdlog::level::info,
                fmt::format("{}: ok, read back {}", what, json_for_log(result.readback)));
    } else {
      audit_log(spdlog::level::warn, fmt::format("{}: {}: {}", what, result.status, result.error));
    }
    if (options.json) {
      out << to_json(result) << '\n';
    } else if (result.status == "ok") {
      out << fmt::format("{}/{}: wrote {}, read back {}{}\n", result.device, result.point,
                         text(result.value), text(result.readback),
                         result.error.empty() ? "" : " (" + result.error + ")");
    } else {
      err << fmt::format("{}/{}: {}: {}\n", result.device, result.point, result.status,
                         result.error);
    }
    return code;
  };

  ParsedCommand parsed = parse_command_payload(options.value, config->mqtt.command_max_size);
  if (!parsed.error.empty()) {
    result.status = "rejected";
    result.error = parsed.error;
    return report(kExitWriteRejected);
  }
  Value value = *parsed.value;
  result.value = value_json(value);
  if (auto why = check_write(*device, *point, value); !why.empty()) {
    result.status = "rejected";
    result.error = std::move(why);
    return report(kExitWriteRejected);
  }
  result.value = value_json(value);

  if (!startup->create_drivers(err, device->name)) return kExitConfigError;
  auto& drivers = startup->drivers();
  const drivers::WriteResult written = drivers.front()->write(point->name, value);
  drivers.front()->close();
  result.error = written.error;
  switch (written.status) {
    case drivers::WriteStatus::kOk:
      result.status = "ok";
      result.readback = value_json(written.readback);
      return report(kExitOk);
    case drivers::WriteStatus::kRejected:
      result.status = "rejected";
      return report(kExitWriteRejected);
    case drivers::WriteStatus::kFailed:
      break;
  }
  result.status = "error";
  return report(kExitWriteFailed);
}

}  // namespace fieldgate::gateway
