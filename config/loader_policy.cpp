// Publish policy keys. A deadband is a number in the point's units or a
// percentage string ("0.5%"); the checks that combine keys (a deadband or
// max_interval needs on_change, max_interval is not below min_interval) run
// on the policy a table ends up with, so a point that only changes `publish`
// is checked against its device's other keys.
#include "config/loader_policy.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

#include "config/bounds.hpp"
#include "config/schema.hpp"
#include "config/units.hpp"

namespace fieldgate::config {
namespace {

constexpr std::array<std::string_view, 4> kPolicyKeys{"publish", "deadband", "min_interval",
                                                      "max_interval"};

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<Deadband> deadband(Section& s) {
  const toml::node* node = s.find("deadband");
  if (node == nullptr) return std::nullopt;
  const auto expected = [&](const std::string& got) {
    s.report("deadband", fmt::format("expected a number from 0 in the point's units, or a "
                                     "percentage from \"0%\" to \"{}%\" such as \"0.5%\", got {}",
                                     bounds::kMaxDeadbandPercent, got));
    return std::nullopt;
  };
  if (node->is_string()) {
    const auto text = s.string("deadband");
    if (!text) return std::nullopt;  // reported (an unset ${VAR})
    std::string_view t(*text);
    const bool percent = !t.empty() && t.back() == '%';
    if (percent) t.remove_suffix(1);
    const auto value = parse_number(t);
    if (!value || !std::isfinite(*value) || *value < 0 ||
        (percent && *value > bounds::kMaxDeadbandPercent)) {
      return expected(quote(*text));
    }
    return Deadband{*value, percent};
  }
  const auto value = s.number("deadband");
  if (!value) return std::nullopt;  // reported
  if (!std::isfinite(*value) || *value < 0) return expected(describe(*node));
  return Deadband{*value, false};
}

/// Applies the policy keys `s` has onto `policy`; true when it has any.
bool read_policy(Section& s, PublishPolicy& policy) {
  bool any = false;
  for (const auto key : kPolicyKeys) any = any || s.has(key);
  if (!any) return false;
  assign(policy.mode, s.choice("publish", kPublishModes));
  assign(policy.deadband, deadband(s));
  assign(policy.min_interval, s.duration("min_interval", bounds::kPublishInterval));
  assign(policy.max_interval, s.duration("max_interval", bounds::kPublishInterval));
  if (policy.mode == PublishMode::kAlways) {
    // Keys that would do nothing are a mistake worth naming.
    if (s.has("deadband") && !s.reported("deadband")) {
      s.report("deadband", "a deadband needs publish = \"on_change\" (here or on the device)");
    }
    if (s.has("max_interval") && !s.reported("max_interval") && policy.max_interval.count() > 0) {
      s.report("max_interval",
               "max_interval needs publish = \"on_change\" (here or on the device): "
               "\"always\" publishes every reading anyway");
    }
  }
  if (policy.max_interval.count() > 0 && policy.max_interval < policy.min_interval &&
      !s.reported("max_interval") && !s.reported("min_interval")) {
    s.report(
        s.has("max_interval") ? "max_interval" : "min_interval",
        fmt::format("expected max_interval ({}) to be at least min_interval ({})",
                    format_duration(policy.max_interval), format_duration(policy.min_interval)));
  }
  return true;
}

}  // namespace

void read_device_policy(Section& s, DeviceConfig& device) {
  read_policy(s, device.publish);
}

void read_point_policy(Section& s, const DeviceConfig& device, PointConfig& point) {
  PublishPolicy policy = device.publish;
  if (read_policy(s, policy)) point.publish = std::make_shared<const PublishPolicy>(policy);
}

}  // namespace fieldgate::config
