#include "drivers/serial/schema_points.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <string_view>

#include "config/bounds.hpp"
#include "config/loader_uplink.hpp"
#include "config/loader_write.hpp"
#include "config/schema.hpp"
#include "drivers/serial/settings.hpp"

namespace fieldgate::serial {
namespace {

using namespace config;  // NOLINT(google-build-using-namespace): the schema's vocabulary

constexpr std::array kSerialValueTypes{SerialValueType::kNumber, SerialValueType::kInt,
                                       SerialValueType::kBool, SerialValueType::kString};

ValueKind value_kind_of(SerialValueType type) {
  if (type == SerialValueType::kBool) return ValueKind::kBool;
  if (type == SerialValueType::kString) return ValueKind::kString;
  return ValueKind::kNumber;
}

// The bytes sent for a write, with "{value}" in them.
void read_write_template(Section& s, const WriteConfig& w, SerialPointConfig& settings) {
  const auto write_template = s.non_empty_string("write_template", Need::kOptional);
  assign(settings.write_template, write_template);
  if (!w.writable) {
    reject_unless_writable(s, w, "write_template");
  } else if (!s.has("write_template")) {
    s.missing("write_template",
              "a writable serial-line point needs the bytes to send, e.g. \"SET {value}\\r\\n\"");
  } else if (write_template && write_template->find("{value}") == std::string::npos) {
    s.report("write_template", fmt::format("expected a template containing {{value}}, got {}",
                                           quote(*write_template)));
  }
}

}  // namespace

config::PointConfig read_serial_point(config::Section& s, const SerialPointContext& ctx) {
  using namespace config;  // NOLINT(google-build-using-namespace)
  PointConfig p;
  p.pos = s.pos();
  auto settings = std::make_shared<SerialPointConfig>();
  assign(p.name, s.name("name", Need::kRequired));
  // A common key elsewhere; here every point comes from the same frames.
  s.reject("interval",
           "not allowed for driver \"serial-line\" (every point comes from the same frames; "
           "set poll_interval on the device)");
  const auto type = s.choice("type", kSerialValueTypes);
  assign(settings->type, type);
  const auto scale = s.number("scale");
  const auto offset = s.number("offset");
  assign(p.scale, scale);
  assign(p.offset, offset);
  assign(p.unit, s.bounded_string("unit", bounds::kMaxUnitBytes));
  read_point_uplink(s, p);
  const auto field = s.integer("field", 0, kLargestFrame);
  assign(settings->field, field);
  assign(settings->key, s.non_empty_string("key", Need::kOptional));
  const auto group = s.non_empty_string("group", Need::kOptional);
  assign(settings->group, group);
  assign(settings->split, s.non_empty_string("split", Need::kOptional));
  assign(settings->part, s.integer("part", 0, kLargestFrame));

  if (ctx.parse) {
    constexpr std::array<std::string_view, 3> kSources{"field", "key", "group"};
    const std::size_t wanted = *ctx.parse == ParseMode::kFields     ? 0
                               : *ctx.parse == ParseMode::kKeyValue ? 1
                                                                    : 2;
    const std::string mode = quote(to_string(*ctx.parse));
    for (std::size_t i = 0; i < kSources.size(); ++i) {
      if (i != wanted) {
        s.reject(kSources[i], fmt::format("not used with the device's parse = {} (use {})", mode,
                                          kSources[wanted]));
      } else if (!s.has(kSources[i])) {
        s.missing(kSources[i],
                  fmt::format("parse {} takes each point's value from a {}", mode, kSources[i]));
      }
    }
    if (wanted == 0 && field && ctx.last_field && *field > *ctx.last_field) {
      s.report("field",
               fmt::format("field {} cannot exist: a frame of at most {} bytes has at most {} "
                           "fields separated by {}",
                           *field, ctx.largest_frame, *ctx.last_field + 1, quote(ctx.separator)));
    }
    if (wanted == 2 && group && ctx.groups &&
        std::find(ctx.groups->begin(), ctx.groups->end(), *group) == ctx.groups->end()) {
      s.report("group", ctx.groups->empty()
                            ? fmt::format("the pattern has no group named {} (it has no named "
                                          "groups; write (?<{}>...))",
                                          quote(*group), *group)
                            : fmt::format("the pattern has no group named {} (its groups: {})",
                                          quote(*group), fmt::join(*ctx.groups, ", ")));
    }
  }
  if (!s.has("split")) {
    s.reject("part", "only allowed with split");
  } else if (!s.has("part")) {
    s.missing("part", "split needs part: 0 for the first piece, 1 for the second, ...");
  }
  if (scale && (*scale == 0 || !std::isfinite(*scale))) {
    s.report("scale", fmt::format("expected a non-zero finite number, got {}", *scale));
  }
  if (offset && !std::isfinite(*offset)) {
    s.report("offset", fmt::format("expected a finite number, got {}", *offset));
  }
  if (type && (*type == SerialValueType::kBool || *type == SerialValueType::kString)) {
    const std::string why = fmt::format("not allowed for type {}", quote(to_string(*type)));
    s.reject("scale", why);
    s.reject("offset", why);
  }
  // The type's default when absent; nullopt when it was invalid (reported).
  const auto line_type = type || s.has("type") ? type : std::optional(settings->type);
  p.value_kind = value_kind_of(settings->type);
  p.settings = settings;
  WriteContext write_context;
  if (line_type) write_context = {value_kind_of(*line_type), std::string(to_string(*line_type))};
  p.set_write(read_point_write(s, write_context));
  read_write_template(s, p.write(), *settings);
  return p;
}

}  // namespace fieldgate::serial
