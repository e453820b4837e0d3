#include "drivers/sunspec/decoder.hpp"

#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "drivers/decimal_scale.hpp"
#include "drivers/modbus/codec.hpp"

namespace fieldgate::sunspec {
namespace {

// SunSpec registers are big-endian words, the high word first.
std::uint64_t word_value(std::span<const std::uint16_t> regs) noexcept {
  std::uint64_t v = 0;
  for (auto r : regs) v = (v << 16) | r;
  return v;
}

// A string register area: up to the first NUL, trailing spaces removed; any
// byte outside printable ASCII becomes '?' (the device's bytes are not
// trusted to be text). Empty: not implemented.
std::string string_value(std::span<const std::uint16_t> regs) {
  std::string text;
  text.reserve(regs.size() * 2);
  for (auto r : regs) {
    for (const auto byte : {static_cast<unsigned char>(r >> 8), static_cast<unsigned char>(r)}) {
      if (byte == 0) goto done;  // NOLINT(cppcoreguidelines-avoid-goto): out of two loops
      text.push_back(byte >= 0x20 && byte < 0x7F ? static_cast<char>(byte) : '?');
    }
  }
done:
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The raw value of an integer or float point, nullopt when it is the type's
// "not implemented" value.
std::optional<Value> raw_value(PointType type, std::span<const std::uint16_t> regs) {
  const std::uint64_t v = word_value(regs);
  switch (type) {
    case PointType::kInt16:
      if (v == 0x8000) return std::nullopt;
      return Value{static_cast<std::int64_t>(static_cast<std::int16_t>(v))};
    case PointType::kUInt16:
    case PointType::kEnum16:
    case PointType::kBitfield16:
      if (v == 0xFFFF) return std::nullopt;
      return Value{static_cast<std::int64_t>(v)};
    case PointType::kCount:
      return Value{static_cast<std::int64_t>(v)};
    case PointType::kAcc16:
    case PointType::kAcc32:
    case PointType::kAcc64:
      // An accumulator reads 0 when not accumulated (not implemented).
      if (v == 0) return std::nullopt;
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Value{static_cast<double>(v)};
      }
      return Value{static_cast<std::int64_t>(v)};
    case PointType::kInt32:
      if (v == 0x80000000U) return std::nullopt;
      return Value{static_cast<std::int64_t>(static_cast<std::int32_t>(v))};
    case PointType::kUInt32:
    case PointType::kEnum32:
    case PointType::kBitfield32:
      if (v == 0xFFFFFFFFU) return std::nullopt;
      return Value{static_cast<std::int64_t>(v)};
    case PointType::kInt64:
      if (v == 0x8000000000000000ULL) return std::nullopt;
      return Value{static_cast<std::int64_t>(v)};
    case PointType::kUInt64:
    case PointType::kBitfield64:
      if (v == 0xFFFFFFFFFFFFFFFFULL) return std::nullopt;
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Value{static_cast<double>(v)};
      }
      return Value{static_cast<std::int64_t>(v)};
    case PointType::kFloat32:
    case PointType::kFloat64: {
      // NaN is "not implemented"; an infinity is no measurement either. The
      // Modbus codec widens a float32 to the double a person would write.
      auto value = modbus::decode_registers(
          regs,
          type == PointType::kFloat32 ? modbus::ValueType::kFloat32 : modbus::ValueType::kFloat64,
          modbus::ByteOrder::kABCD);
      const auto* d = std::get_if<double>(&value);
      if (d == nullptr || !std::isfinite(*d)) return std::nullopt;
      return value;
    }
    case PointType::kSunssf:
    case PointType::kString:
    case PointType::kPad:
      break;
  }
  return std::nullopt;
}

// raw × 10^sf: an integer stays one for sf >= 0 (if it fits); for sf < 0 the
// double nearest the exact decimal (353 with -1 is 35.3).
Value scaled(const Value& raw, int sf) {
  if (sf == 0) return raw;
  if (const auto* i = std::get_if<std::int64_t>(&raw)) {
    if (sf < 0) {
      if (auto exact = scale_decimal(*i, -sf, 1.0, 0.0)) return Value{*exact};
      return Value{static_cast<double>(*i) * std::pow(10.0, sf)};
    }
    const double d = static_cast<double>(*i) * std::pow(10.0, sf);
    if (std::abs(d) < 9e15) return Value{static_cast<std::int64_t>(std::llround(d))};
    return Value{d};
  }
  if (const auto* d = std::get_if<double>(&raw)) return Value{*d * std::pow(10.0, sf)};
  return raw;
}

// Whether [offset, offset + size) lies in a block of `length` registers.
bool inside(std::size_t offset, std::size_t size, std::size_t length) noexcept {
  return offset + size <= length;
}

// The scale factor of `point` in this model instance: nullopt when the point
// has none; `bad` set when it has one that cannot be used.
std::optional<int> scale_of(const PointDef& point, std::span<const std::uint16_t> fixed,
                            std::span<const std::uint16_t> repeat, bool& bad) {
  bad = false;
  if (point.sf.kind == SfKind::kNone) return std::nullopt;
  if (point.sf.kind == SfKind::kConstant) return point.sf.value;
  const auto block = point.sf.kind == SfKind::kFixed ? fixed : repeat;
  const auto offset = static_cast<std::size_t>(point.sf.value);
  if (!inside(offset, 1, block.size()) || block[offset] == 0x8000) {
    bad = true;
    return std::nullopt;
  }
  const int sf = static_cast<std::int16_t>(block[offset]);
  if (sf < kMinScaleFactor || sf > kMaxScaleFactor) {
    bad = true;
    return std::nullopt;
  }
  return sf;
}

bool is_value(PointType type) noexcept {
  return type != PointType::kSunssf && type != PointType::kPad;
}

void decode_block(std::span<const PointDef> points, std::string_view prefix, int repeat,
                  std::span<const std::uint16_t> fixed, std::span<const std::uint16_t> block,
                  std::vector<DecodedValue>& out, DecodeStats& stats) {
  for (const auto& point : points) {
    if (!is_value(point.type)) continue;
    if (!inside(point.offset, point.size, block.size())) {
      ++stats.not_implemented;
      continue;
    }
    const auto regs = block.subspan(point.offset, point.size);
    if (point.type == PointType::kString) {
      auto text = string_value(regs);
      if (text.empty()) {
        ++stats.not_implemented;
        continue;
      }
      out.push_back({point_name(prefix, repeat, point), Value{std::move(text)}, point.units});
      continue;
    }
    auto raw = raw_value(point.type, regs);
    if (!raw) {
      ++stats.not_implemented;
      continue;
    }
    bool bad = false;
    const auto sf = scale_of(point, fixed, block, bad);
    if (bad) {
      ++stats.bad_scale;
      continue;
    }
    out.push_back(
        {point_name(prefix, repeat, point), sf ? scaled(*raw, *sf) : std::move(*raw), point.units});
  }
}

}  // namespace

int repeat_count(const ModelDef& def, std::uint16_t length) noexcept {
  if (def.repeat_length == 0 || length <= def.fixed_length) return 0;
  return (length - def.fixed_length) / def.repeat_length;
}

std::string point_name(std::string_view prefix, int repeat, const PointDef& point) {
  if (repeat > 0) return fmt::format("{}_{}_{}", prefix, repeat, point.name);
  return fmt::format("{}_{}", prefix, point.name);
}

void decode_model(const ModelDef& def, std::string_view prefix, std::span<const std::uint16_t> body,
                  std::vector<DecodedValue>& out, DecodeStats& stats) {
  const auto fixed = body.first(std::min<std::size_t>(body.size(), def.fixed_length));
  decode_block(def.fixed, prefix, 0, fixed, fixed, out, stats);
  const int repeats = repeat_count(def, static_cast<std::uint16_t>(body.size()));
  for (int k = 0; k < repeats; ++k) {
    const auto start = def.fixed_length + static_cast<std::size_t>(k) * def.repeat_length;
    decode_block(def.repeat, prefix, k + 1, fixed, body.subspan(start, def.repeat_length), out,
                 stats);
  }
}

void list_points(const ModelDef& def, std::string_view prefix, std::uint16_t length,
                 std::vector<DecodedValue>& out) {
  for (const auto& point : def.fixed) {
    if (is_value(point.type) && inside(point.offset, point.size, length)) {
      out.push_back({point_name(prefix, 0, point), {}, point.units});
    }
  }
  for (int k = 1; k <= repeat_count(def, length); ++k) {
    for (const auto& point : def.repeat) {
      if (is_value(point.type)) out.push_back({point_name(prefix, k, point), {}, point.units});
    }
  }
}

}  // namespace fieldgate::sunspec
