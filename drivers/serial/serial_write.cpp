// SerialLineDriver::write: a value into the point's write_template, sent on
// the port between two polls. Split from serial_line_driver.cpp (one job per
// file), like modbus_write.cpp beside the Modbus driver.
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "drivers/serial/escape.hpp"
#include "drivers/serial/serial_line_driver.hpp"

namespace fieldgate::serial {
namespace {

// The text of a value for a write template: scale and offset inverted, an
// "int" point as a whole number, a bool as 1 or 0, a string as it is.
std::optional<std::string> format_write_value(const config::PointConfig& point,
                                              const Value& value) {
  switch (point_of(point).type) {
    case SerialValueType::kBool:
      if (const auto* b = std::get_if<bool>(&value)) return std::string(*b ? "1" : "0");
      return std::nullopt;
    case SerialValueType::kString:
      if (const auto* s = std::get_if<std::string>(&value)) return *s;
      return std::nullopt;
    case SerialValueType::kNumber:
    case SerialValueType::kInt:
      break;
  }
  double v = 0;
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    v = static_cast<double>(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    v = *d;
  } else {
    return std::nullopt;
  }
  const double raw = (v - point.offset) / point.scale;
  if (!std::isfinite(raw)) return std::nullopt;
  if (point_of(point).type == SerialValueType::kInt) {
    if (std::abs(raw) >= std::ldexp(1.0, 63)) return std::nullopt;
    return fmt::format("{}", static_cast<std::int64_t>(std::llround(raw)));
  }
  return fmt::format("{}", raw);
}

}  // namespace

drivers::WriteResult SerialLineDriver::write(const std::string& name, const Value& value) {
  using drivers::WriteStatus;
  const auto point = std::find_if(device_.points.begin(), device_.points.end(),
                                  [&](const config::PointConfig& p) { return p.name == name; });
  if (point == device_.points.end() || !point->write().writable) {
    return {WriteStatus::kRejected, Quality::kGood, "not writable", {}};
  }
  const auto text = format_write_value(*point, value);
  if (!text) {
    return {WriteStatus::kRejected,
            Quality::kGood,
            fmt::format("expected a value of type {}, got {}", to_string(point_of(*point).type),
                        format_value(value)),
            {}};
  }
  std::string bytes = point_of(*point).write_template;
  for (auto at = bytes.find("{value}"); at != std::string::npos;
       at = bytes.find("{value}", at + text->size())) {
    bytes.replace(at, 7, *text);
  }
  const std::int64_t ts_ms = unix_ms_now();
  if (!port_.is_open()) {
    if (const auto error = port_.open(line_of(device_).port, line_of(device_)); !error.empty()) {
      ++health_.connection_errors;
      return {
          WriteStatus::kFailed, Quality::kNoConnection, "no connection: cannot open " + error, {}};
    }
    framer_.reset();
    synced_ = false;
  }
  ++health_.requests;
  if (const auto error = port_.write_all(bytes, device_.response_timeout); !error.empty()) {
    ++health_.connection_errors;
    port_.close();
    framer_.reset();
    return {WriteStatus::kFailed, Quality::kNoConnection, "no connection: " + error, {}};
  }
  raw(escape_bytes(bytes), "sent (write)", ts_ms);
  return {WriteStatus::kOk,
          Quality::kGood,
          "sent; serial-line devices are not read back (the next frames show the value)",
          {}};
}

}  // namespace fieldgate::serial
