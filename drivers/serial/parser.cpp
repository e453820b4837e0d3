#include "drivers/serial/parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "drivers/decimal_scale.hpp"
#include "drivers/serial/escape.hpp"

namespace fieldgate::serial {
namespace {


std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> out;
  while (true) {
    const auto at = text.find(separator);
    if (at == std::string_view::npos) break;
    out.push_back(text.substr(0, at));
    text.remove_prefix(at + separator.size());
  }
  out.push_back(text);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Converted fail(std::string_view expected, std::string_view text) {
  return {std::monostate{}, fmt::format("expected {}, got \"{}\"", expected, escape_bytes(text))};
}

// value × scale + offset, unless that overflows: an infinite reading is bogus.
// The instrument's text is a decimal: "353" × 0.1 is 35.3 in decimal, not the
// binary 35.300000000000004 (drivers/decimal_scale.hpp).
Converted scaled(double value, const config::PointConfig& point, std::string_view raw) {
  if (point.scale == 1.0 && point.offset == 0.0) return {value, {}};  // untouched
  const auto text = parse_decimal_text(trim(raw));
  const auto exact =
      text ? scale_decimal(text->digits, text->decimals, point.scale, point.offset) : std::nullopt;
  const double v = exact ? *exact : value * point.scale + point.offset;
  if (!std::isfinite(v)) return fail("a number within range after scale and offset", raw);
  return {v, {}};
}

}  // namespace

FrameParser::FrameParser(const config::DeviceConfig& device)
    : mode_(line_of(device).parse),
      separator_(line_of(device).separator),
      assign_(line_of(device).assign),
      points_(device.points) {
  if (mode_ != ParseMode::kRegex) return;
  regex_ = std::make_unique<PcreRegex>(line_of(device).pattern);
  for (const auto& point : points_) {
    const int n = regex_->group_number(point_of(point).group);
    if (n < 0) {
      throw std::invalid_argument(
          fmt::format("device \"{}\": the pattern has no group named \"{}\"", device.name,
                      point_of(point).group));
    }
    groups_.push_back(n);
  }
}

PointText FrameParser::finish(const config::PointConfig& point, std::string_view text) const {
  if (point_of(point).split.empty()) return {PointText::State::kText, std::string(text)};
  const auto parts = split(text, point_of(point).split);
  const auto part = static_cast<std::size_t>(point_of(point).part);
  if (part >= parts.size()) {
    return {PointText::State::kError,
            fmt::format("no part {} after splitting \"{}\" at \"{}\"", part, escape_bytes(text),
                        escape_bytes(point_of(point).split))};
  }
  return {PointText::State::kText, std::string(parts[part])};
}

FrameParser::Result FrameParser::parse(std::string_view payload) const {
  Result result;
  result.points.resize(points_.size());
  switch (mode_) {
    case ParseMode::kFields: {
      const auto fields = split(payload, separator_);
      for (std::size_t i = 0; i < points_.size(); ++i) {
        const auto index = static_cast<std::size_t>(point_of(points_[i]).field);
        if (index < fields.size()) result.points[i] = finish(points_[i], fields[index]);
      }
      break;
    }
    case ParseMode::kKeyValue: {
      // KEY=VALUE pairs; with assign equal to separator, KEY,VALUE,KEY,VALUE.
      std::vector<std::pair<std::string_view, std::string_view>> pairs;
      const auto items = split(payload, separator_);
      if (assign_ == separator_) {
        for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
          pairs.emplace_back(trim(items[i]), items[i + 1]);
        }
      } else {
        for (const auto item : items) {
          const auto at = item.find(assign_);
          if (at != std::string_view::npos) {
            pairs.emplace_back(trim(item.substr(0, at)), item.substr(at + assign_.size()));
          }
        }
      }
      for (std::size_t i = 0; i < points_.size(); ++i) {
        for (const auto& [key, value] : pairs) {
          if (key == point_of(points_[i]).key) {
            result.points[i] = finish(points_[i], value);
            break;
          }
        }
      }
      break;
    }
    case ParseMode::kRegex: {
      const auto groups = regex_->match(payload);
      if (!groups) {
        result.matched = false;
        break;
      }
      for (std::size_t i = 0; i < points_.size(); ++i) {
        const auto n = static_cast<std::size_t>(groups_[i]);
        if (n < groups->size() && (*groups)[n])
          result.points[i] = finish(points_[i], *(*groups)[n]);
      }
      break;
    }
  }
  return result;
}

Converted convert(std::string_view raw, const config::PointConfig& point) {
  const std::string_view text = trim(raw);
  switch (point_of(point).type) {
    case SerialValueType::kString:
      return {std::string(raw), {}};
    case SerialValueType::kBool: {
      const std::string t = lower(text);
      if (t == "1" || t == "true" || t == "on" || t == "yes") return {true, {}};
      if (t == "0" || t == "false" || t == "off" || t == "no") return {false, {}};
      return fail("a boolean (1/0, true/false, on/off, yes/no)", raw);
    }
    case SerialValueType::kInt: {
      std::string_view digits = text;
      if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
        return fail("an integer", raw);
      }
      if (point.scale == 1.0 && point.offset == 0.0) return {v, {}};
      return scaled(static_cast<double>(v), point, raw);
    }
    case SerialValueType::kNumber: {
      std::string_view digits = text;
      if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
      double v = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      // from_chars reads "inf" and "nan": no instrument means those as a measurement.
      if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
          !std::isfinite(v)) {
        return fail("a number", raw);
      }
      return scaled(v, point, raw);
    }
  }
  return fail("a value", raw);
}

}  // namespace fieldgate::serial
