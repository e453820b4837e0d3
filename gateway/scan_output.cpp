#include "gateway/scan_output.hpp"

#include <fmt/format.h>

#include <map>
#include <vector>

#include "config/config.hpp"
#include "config/units.hpp"

namespace fieldgate::gateway {
namespace {

using modbus::LineSetting;
using modbus::ScanReport;
using modbus::UnitResult;
using modbus::UnitState;

char parity_letter(Parity p) {
  return p == Parity::kEven ? 'E' : p == Parity::kOdd ? 'O' : 'N';
}

std::string_view state_name(UnitState s) {
  switch (s) {
    case UnitState::kSilent:
      return "silent";
    case UnitState::kGarbled:
      return "garbled";
    case UnitState::kUnknown:
      return "unknown";
    case UnitState::kIdentified:
      break;
  }
  return "identified";
}

bool same(const LineSetting& a, const LineSetting& b) {
  return a.baud == b.baud && a.parity == b.parity;
}

// "1-3, 7, 9-247".
std::string ranges(const std::vector<int>& units) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < units.size();) {
    std::size_t j = i;
    while (j + 1 < units.size() && units[j + 1] == units[j] + 1) ++j;
    parts.push_back(j == i ? std::to_string(units[i]) : fmt::format("{}-{}", units[i], units[j]));
    i = j + 1;
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string order_text(const std::optional<std::string>& order) {
  return order.value_or(std::string());
}

std::string identification_text(const modbus::DeviceIdentification& id) {
  std::vector<std::string> parts;
  for (const auto* s : {&id.vendor, &id.product_code, &id.revision}) {
    if (!s->empty()) parts.push_back(*s);
  }
  return fmt::format("{}", fmt::join(parts, " "));
}

std::string unit_line(const UnitResult& u) {
  std::string line = fmt::format("  unit {:>3}: ", u.unit);
  if (u.state == UnitState::kGarbled) return line + "garbled answer (another baud or parity?)";
  if (u.sunspec) {
    line += "SunSpec";
    if (!u.sunspec_common.empty()) line += fmt::format(" ({})", u.sunspec_common);
  } else if (!u.matches.empty()) {
    line += u.matches.front().model;
    if (u.matches.front().order)
      line += fmt::format(" (byte order {})", order_text(u.matches.front().order));
    if (u.matches.size() > 1) {
      std::vector<std::string> others;
      for (std::size_t i = 1; i < u.matches.size(); ++i) others.push_back(u.matches[i].model);
      line += fmt::format("; its probe also fits {}", fmt::join(others, ", "));
    }
  } else {
    line += "answers, unknown";
  }
  if (u.identification)
    line += fmt::format("\n            identification: {}", identification_text(*u.identification));
  if (u.sunspec) line += "\n            " + u.sunspec_models;
  if (u.state == UnitState::kUnknown && !u.unreadable.empty()) {
    line +=
        fmt::format("\n            probes it could not read: {}", fmt::join(u.unreadable, ", "));
  }
  return line;
}

std::string device_table(const modbus::ScanOptions& options, const UnitResult& u,
                         const std::string& bus) {
  std::string model = u.sunspec ? "sunspec" : u.matches.front().model;
  std::string out = fmt::format("[[devices]]\nname = \"{}-{}\"\n", model, u.unit);
  if (options.rtu) {
    out += fmt::format("driver = \"modbus-rtu\"\nbus = \"{}\"\n", bus);
  } else {
    out += fmt::format("driver = \"modbus-tcp\"\nhost = \"{}\"\nport = {}\n", options.host,
                       options.port);
  }
  out += fmt::format("unit_id = {}\nmodel = \"{}\"\n", u.unit, model);
  if (!u.sunspec && u.matches.front().order) {
    out += fmt::format("byte_order = \"{}\"              # not the model's default order\n",
                       order_text(u.matches.front().order));
  }
  if (!u.sunspec && u.matches.size() > 1) {
    std::vector<std::string> others;
    for (std::size_t i = 1; i < u.matches.size(); ++i) others.push_back(u.matches[i].model);
    out +=
        fmt::format("# its probe also fits {}: check the meter's label\n", fmt::join(others, ", "));
  }
  return out;
}

}  // namespace

std::string setting_text(const modbus::ScanOptions& options, const LineSetting& setting) {
  if (!options.rtu) return {};
  return fmt::format("{} {}{}{}", setting.baud, options.data_bits, parity_letter(setting.parity),
                     options.stop_bits);
}

std::string report_text(const modbus::ScanOptions& options, const ScanReport& report) {
  std::string out;
  for (const LineSetting& setting : report.settings) {
    std::vector<int> silent;
    std::vector<std::string> lines;
    bool tried = false;
    for (const UnitResult& u : report.units) {
      if (!same(u.setting, setting)) continue;
      tried = true;
      if (u.state == UnitState::kSilent) {
        silent.push_back(u.unit);
      } else {
        lines.push_back(unit_line(u));
      }
    }
    if (!tried) continue;
    out += options.rtu ? fmt::format("{} at {}:\n", options.device, setting_text(options, setting))
                       : fmt::format("{}:{}:\n", options.host, options.port);
    for (const auto& line : lines) out += line + '\n';
    if (!silent.empty()) out += fmt::format("  silent: {}\n", ranges(silent));
  }
  if (!report.stopped.empty()) {
    out += fmt::format("Stopped early: {}.\n", report.stopped);
    if (!report.units_skipped.empty()) {
      out += fmt::format("  units not tried: {}\n", ranges(report.units_skipped));
    }
    if (!report.settings_skipped.empty()) {
      std::vector<std::string> names;
      for (const auto& s : report.settings_skipped) names.push_back(setting_text(options, s));
      out += fmt::format("  settings not tried: {}\n", fmt::join(names, ", "));
    }
  }
  return out;
}

std::string config_snippet(const modbus::ScanOptions& options, const ScanReport& report) {
  std::string out;
  int buses = 0;
  for (const LineSetting& setting : report.settings) {
    std::string devices;
    const std::string bus =
        report.settings.size() == 1
            ? std::string("rs485")
            : fmt::format("rs485-{}-{}", setting.baud, config::to_string(setting.parity));
    for (const UnitResult& u : report.units) {
      if (!same(u.setting, setting)) continue;
      if (u.state == UnitState::kIdentified) {
        devices += '\n' + device_table(options, u, bus);
      } else if (u.state == UnitState::kUnknown) {
        devices += fmt::format(
            "\n# unit {} answers but matches no model: describe its registers with "
            "[[devices.points]]\n",
            u.unit);
      }
    }
    if (devices.empty()) continue;
    if (options.rtu) {
      if (++buses == 2) {
        out +=
            "\n# Devices answered at more than one line setting: a port has one setting.\n"
            "# Set the devices alike and keep one [[buses]] (check refuses a shared port).\n";
      }
      out += fmt::format("{}[[buses]]\nname = \"{}\"\nport = \"{}\"\nbaud = {}\nparity = \"{}\"\n",
                         out.empty() ? "" : "\n", bus, options.device, setting.baud,
                         config::to_string(setting.parity));
      if (options.data_bits != 8) out += fmt::format("data_bits = {}\n", options.data_bits);
      if (options.stop_bits != 1) out += fmt::format("stop_bits = {}\n", options.stop_bits);
    }
    out += out.empty() ? devices.substr(1) : devices;  // no blank first line
  }
  return out;
}

nlohmann::ordered_json report_json(const modbus::ScanOptions& options, const ScanReport& report) {
  using nlohmann::ordered_json;
  const auto setting_json = [&](const LineSetting& s) {
    return ordered_json{{"baud", s.baud}, {"parity", config::to_string(s.parity)}};
  };
  ordered_json j{{"transport", options.rtu ? "rtu" : "tcp"}};
  if (options.rtu) {
    j["device"] = options.device;
  } else {
    j["host"] = options.host;
    j["port"] = options.port;
  }
  ordered_json units = ordered_json::array();
  std::map<std::pair<int, int>, std::vector<int>> silent;
  for (const UnitResult& u : report.units) {
    if (u.state == UnitState::kSilent) {
      silent[{u.setting.baud, static_cast<int>(u.setting.parity)}].push_back(u.unit);
      continue;
    }
    ordered_json unit{{"unit", u.unit}, {"state", state_name(u.state)}};
    if (options.rtu) {
      unit["baud"] = u.setting.baud;
      unit["parity"] = config::to_string(u.setting.parity);
    }
    unit["model"] = u.sunspec           ? ordered_json("sunspec")
                    : u.matches.empty() ? ordered_json(nullptr)
                                        : ordered_json(u.matches.front().model);
    unit["byte_order"] = !u.sunspec && !u.matches.empty() && u.matches.front().order
                             ? ordered_json(order_text(u.matches.front().order))
                             : ordered_json(nullptr);
    ordered_json matches = ordered_json::array();
    for (const auto& m : u.matches) {
      matches.push_back(
          {{"model", m.model},
           {"byte_order", m.order ? ordered_json(order_text(m.order)) : ordered_json(nullptr)}});
    }
    unit["matches"] = std::move(matches);
    unit["identification"] = u.identification
                                 ? ordered_json{{"vendor", u.identification->vendor},
                                                {"product_code", u.identification->product_code},
                                                {"revision", u.identification->revision}}
                                 : ordered_json(nullptr);
    unit["sunspec"] = u.sunspec
                          ? ordered_json{{"models", u.sunspec_models}, {"common", u.sunspec_common}}
                          : ordered_json(nullptr);
    unit["unreadable_probes"] = u.unreadable;
    unit["requests"] = u.requests;
    units.push_back(std::move(unit));
  }
  j["units"] = std::move(units);
  ordered_json silent_json = ordered_json::array();
  for (const LineSetting& s : report.settings) {
    const auto it = silent.find({s.baud, static_cast<int>(s.parity)});
    if (it == silent.end()) continue;
    ordered_json entry = options.rtu ? setting_json(s) : ordered_json::object();
    entry["units"] = it->second;
    silent_json.push_back(std::move(entry));
  }
  j["silent"] = std::move(silent_json);
  ordered_json skipped_settings = ordered_json::array();
  for (const auto& s : report.settings_skipped) skipped_settings.push_back(setting_json(s));
  j["skipped"] = {{"settings", std::move(skipped_settings)}, {"units", report.units_skipped}};
  j["stopped"] = report.stopped.empty() ? ordered_json(nullptr) : ordered_json(report.stopped);
  j["elapsed_ms"] = report.elapsed.count();
  j["snippet"] = config_snippet(options, report);
  return j;
}

}  // namespace fieldgate::gateway
