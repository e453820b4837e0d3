// Register <-> value conversion.
//
// Design notes. Every numeric type is handled the same way: the registers are
// first reassembled into an unsigned integer whose most significant byte is
// "A" (assemble_big_endian), and only then reinterpreted as the target type
// with std::bit_cast. The byte order is therefore two independent switches:
//   - swap_words: the registers arrive least significant word first (CDAB, DCBA)
//   - swap_bytes: each register has its two bytes swapped           (BADC, DCBA)
// which gives exactly ABCD / CDAB / BADC / DCBA for 32 bits and their natural
// 64-bit generalisation; for one register swap_words is a no-op, so 16-bit
// values are big-endian for ABCD/CDAB and byte-swapped for BADC/DCBA.
// encode_registers runs the same two switches backwards.
#include "drivers/modbus/codec.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include <fmt/format.h>

#include "drivers/decimal_scale.hpp"

namespace fieldgate::modbus {

namespace {

// A float32 as the double a person would write: 230.2f becomes 230.2, not
// 230.1999969482422. The shortest text that reads back to the same float is,
// by construction, no less precise than the float itself.
double widen_float(float f) {
  if (!std::isfinite(f)) return static_cast<double>(f);
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, f);
  double d = static_cast<double>(f);
  if (ec == std::errc{}) std::from_chars(text, end, d);
  return d;
}

constexpr bool swaps_words(ByteOrder o) noexcept {
  return o == ByteOrder::kCDAB || o == ByteOrder::kDCBA;
}

constexpr bool swaps_bytes(ByteOrder o) noexcept {
  return o == ByteOrder::kBADC || o == ByteOrder::kDCBA;
}

constexpr std::uint16_t byteswap16(std::uint16_t v) noexcept {
  return static_cast<std::uint16_t>((v >> 8) | (v << 8));
}

// The first `words` registers as one unsigned integer, "A" most significant.
std::uint64_t assemble_big_endian(std::span<const std::uint16_t> regs, std::size_t words,
                                  ByteOrder order) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint16_t w = regs[swaps_words(order) ? words - 1 - i : i];
    if (swaps_bytes(order)) w = byteswap16(w);
    v = (v << 16) | w;
  }
  return v;
}

std::vector<std::uint16_t> split_big_endian(std::uint64_t v, std::size_t words, ByteOrder order) {
  std::vector<std::uint16_t> regs(words);
  for (std::size_t i = 0; i < words; ++i) {
    auto w = static_cast<std::uint16_t>(v >> (16 * (words - 1 - i)));
    if (swaps_bytes(order)) w = byteswap16(w);
    regs[swaps_words(order) ? words - 1 - i : i] = w;
  }
  return regs;
}

// Printable ASCII only, so a register full of garbage never yields invalid
// UTF-8 further down (JSON payloads, SQLite text, terminals).
constexpr char printable(std::uint8_t c) noexcept {
  return (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
}

Value decode_string(std::span<const std::uint16_t> regs, ByteOrder order) {
  std::string raw;
  raw.reserve(regs.size() * 2);
  for (std::uint16_t w : regs) {
    if (swaps_bytes(order)) w = byteswap16(w);
    raw.push_back(static_cast<char>(w >> 8));
    raw.push_back(static_cast<char>(w & 0xff));
  }
  // Devices pad with NULs or spaces; both are padding, not content.
  while (!raw.empty() && (raw.back() == '\0' || raw.back() == ' ')) raw.pop_back();
  for (char& c : raw) c = printable(static_cast<std::uint8_t>(c));
  return raw;
}

// An integer value as int64 / uint64 if it is exactly representable; doubles
// must be integral (a write of 35.2 to an int16 is a caller bug, not a rounding).
template <typename Int>
std::optional<Int> to_integer(const Value& v) {
  using Limits = std::numeric_limits<Int>;
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    if constexpr (std::is_signed_v<Int>) {
      if (*i < static_cast<std::int64_t>(Limits::min()) ||
          *i > static_cast<std::int64_t>(Limits::max())) {
        return std::nullopt;
      }
    } else {
      if (*i < 0 || static_cast<std::uint64_t>(*i) > static_cast<std::uint64_t>(Limits::max())) {
        return std::nullopt;
      }
    }
    return static_cast<Int>(*i);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d) || std::trunc(*d) != *d) return std::nullopt;
    // Limits::max() + 1 is a power of two, exact in a double; compare against
    // it rather than against max(), which a double may round up.
    const double upper = std::ldexp(1.0, Limits::digits);
    const double lower = std::is_signed_v<Int> ? -upper : 0.0;
    if (*d < lower || *d >= upper) return std::nullopt;
    return static_cast<Int>(*d);
  }
  return std::nullopt;
}

std::optional<double> to_double(const Value& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> to_bool(const Value& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    if (*i == 0 || *i == 1) return *i == 1;
  }
  return std::nullopt;
}

}  // namespace

Value decode_registers(std::span<const std::uint16_t> regs, ValueType type, ByteOrder order,
                       int bit) {
  // Strings are sized by the caller; they need at least one register.
  if (regs.size() < static_cast<std::size_t>(register_count(type, 1))) return std::monostate{};
  switch (type) {
    case ValueType::kBool:
      // Coils and discrete inputs arrive as one register-sized 0/1 each.
      return regs[0] != 0;
    case ValueType::kBit: {
      if (bit < 0 || bit > 15) return std::monostate{};
      const auto w = static_cast<std::uint16_t>(assemble_big_endian(regs, 1, order));
      return ((w >> bit) & 1U) != 0;
    }
    case ValueType::kInt16:
      return static_cast<std::int64_t>(std::bit_cast<std::int16_t>(
          static_cast<std::uint16_t>(assemble_big_endian(regs, 1, order))));
    case ValueType::kUInt16:
      return static_cast<std::int64_t>(assemble_big_endian(regs, 1, order));
    case ValueType::kInt32:
      return static_cast<std::int64_t>(std::bit_cast<std::int32_t>(
          static_cast<std::uint32_t>(assemble_big_endian(regs, 2, order))));
    case ValueType::kUInt32:
      return static_cast<std::int64_t>(assemble_big_endian(regs, 2, order));
    case ValueType::kInt64:
      return std::bit_cast<std::int64_t>(assemble_big_endian(regs, 4, order));
    case ValueType::kUInt64: {
      const std::uint64_t u = assemble_big_endian(regs, 4, order);
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<double>(u);
      }
      return static_cast<std::int64_t>(u);
    }
    case ValueType::kFloat32:
      return widen_float(
          std::bit_cast<float>(static_cast<std::uint32_t>(assemble_big_endian(regs, 2, order))));
    case ValueType::kFloat64:
      return std::bit_cast<double>(assemble_big_endian(regs, 4, order));
    case ValueType::kString:
      return decode_string(regs, order);
  }
  return std::monostate{};
}

Value apply_scale(const Value& raw, double scale, double offset) {
  if (const auto* i = std::get_if<std::int64_t>(&raw)) {
    if (scale == 1.0 && offset == 0.0) return *i;
    // A count in the units the scale names: 353 × 0.1 is 35.3, not the
    // binary 35.300000000000004 (drivers/decimal_scale.hpp).
    if (const auto exact = scale_decimal(*i, 0, scale, offset)) return *exact;
    return static_cast<double>(*i) * scale + offset;
  }
  if (const auto* d = std::get_if<double>(&raw)) return *d * scale + offset;
  return raw;  // monostate, bool and string carry no magnitude
}

std::optional<std::vector<std::uint16_t>> encode_registers(const Value& value, ValueType type,
                                                           ByteOrder order, int count, int bit) {
  switch (type) {
    case ValueType::kBool: {
      const auto b = to_bool(value);
      if (!b) return std::nullopt;
      return std::vector<std::uint16_t>{static_cast<std::uint16_t>(*b ? 1 : 0)};
    }
    case ValueType::kBit: {
      // Only the addressed bit is set: a write must read-modify-write the
      // other 15 bits itself.
      const auto b = to_bool(value);
      if (!b || bit < 0 || bit > 15) return std::nullopt;
      return split_big_endian(*b ? (1U << bit) : 0U, 1, order);
    }
    case ValueType::kInt16: {
      const auto v = to_integer<std::int16_t>(value);
      if (!v) return std::nullopt;
      return split_big_endian(std::bit_cast<std::uint16_t>(*v), 1, order);
    }
    case ValueType::kUInt16: {
      const auto v = to_integer<std::uint16_t>(value);
      if (!v) return std::nullopt;
      return split_big_endian(*v, 1, order);
    }
    case ValueType::kInt32: {
      const auto v = to_integer<std::int32_t>(value);
      if (!v) return std::nullopt;
      return split_big_endian(std::bit_cast<std::uint32_t>(*v), 2, order);
    }
    case ValueType::kUInt32: {
      const auto v = to_integer<std::uint32_t>(value);
      if (!v) return std::nullopt;
      return split_big_endian(*v, 2, order);
    }
    case ValueType::kInt64: {
      const auto v = to_integer<std::int64_t>(value);
      if (!v) return std::nullopt;
      return split_big_endian(std::bit_cast<std::uint64_t>(*v), 4, order);
    }
    case ValueType::kUInt64: {
      const auto v = to_integer<std::uint64_t>(value);
      if (!v) return std::nullopt;
      return split_big_endian(*v, 4, order);
    }
    case ValueType::kFloat32: {
      const auto d = to_double(value);
      if (!d) return std::nullopt;
      // NaN and infinities exist in float32; finite values beyond its range do
      // not, except the largest float as decoded (3.4028235e38, a hair above
      // FLT_MAX), which must encode back to itself.
      constexpr float kMax = std::numeric_limits<float>::max();
      if (std::isfinite(*d) && std::abs(*d) > kMax) {
        if (std::abs(*d) > widen_float(kMax)) return std::nullopt;
        return split_big_endian(
            std::bit_cast<std::uint32_t>(std::copysign(kMax, static_cast<float>(*d))), 2, order);
      }
      return split_big_endian(std::bit_cast<std::uint32_t>(static_cast<float>(*d)), 2, order);
    }
    case ValueType::kFloat64: {
      const auto d = to_double(value);
      if (!d) return std::nullopt;
      return split_big_endian(std::bit_cast<std::uint64_t>(*d), 4, order);
    }
    case ValueType::kString: {
      const auto* s = std::get_if<std::string>(&value);
      if (s == nullptr || count <= 0 || s->size() > static_cast<std::size_t>(count) * 2) {
        return std::nullopt;
      }
      // Bytes decode would turn into '?' cannot round-trip.
      for (char c : *s) {
        if (printable(static_cast<std::uint8_t>(c)) != c) return std::nullopt;
      }
      std::vector<std::uint16_t> regs(static_cast<std::size_t>(count), 0);
      for (std::size_t i = 0; i < s->size(); ++i) {
        const auto byte = static_cast<std::uint16_t>(static_cast<std::uint8_t>((*s)[i]));
        regs[i / 2] |= (i % 2 == 0) ? static_cast<std::uint16_t>(byte << 8) : byte;
      }
      if (swaps_bytes(order)) {
        for (auto& w : regs) w = byteswap16(w);
      }
      return regs;
    }
  }
  return std::nullopt;
}

namespace {

bool is_integer_type(ValueType t) noexcept {
  switch (t) {
    case ValueType::kInt16:
    case ValueType::kUInt16:
    case ValueType::kInt32:
    case ValueType::kUInt32:
    case ValueType::kInt64:
    case ValueType::kUInt64:
      return true;
    default:
      return false;
  }
}

std::string describe_value(const Value& v) {
  if (std::holds_alternative<std::string>(v)) return "\"" + std::get<std::string>(v) + "\"";
  return format_value(v);
}

}  // namespace

EncodedWrite encode_point_value(const config::PointConfig& point, ByteOrder order,
                                const Value& value) {
  const ModbusPointConfig& spec = point_of(point);
  const ValueType type = spec.type;
  const std::string type_name(to_string(type));
  Value raw = value;
  const bool scaled = point.scale != 1.0 || point.offset != 0.0;
  if (scaled && type != ValueType::kBool && type != ValueType::kBit && type != ValueType::kString) {
    const auto v = to_double(value);
    if (!v) return {{}, fmt::format("expected a number, got {}", describe_value(value))};
    const double unscaled = (*v - point.offset) / point.scale;
    if (is_integer_type(type)) {
      // Anything beyond ±2^63 cannot be any integer type; nearbyint rounds half to even.
      const double rounded = std::nearbyint(unscaled);
      if (!std::isfinite(rounded) || std::abs(rounded) >= std::ldexp(1.0, 63)) {
        return {{},
                fmt::format("{} is out of range for {} (raw value {})", format_value(value),
                            type_name, unscaled)};
      }
      raw = static_cast<std::int64_t>(rounded);
    } else {
      raw = unscaled;
    }
  } else if (is_integer_type(type)) {
    if (const auto* d = std::get_if<double>(&value); d && std::trunc(*d) != *d) {
      return {{}, fmt::format("{} is not a whole number, as {} needs", *d, type_name)};
    }
  }
  auto regs = encode_registers(raw, type, order, spec.count, spec.bit);
  if (regs) return {std::move(*regs), {}};
  // Why not: the wrong kind of value, or out of the type's range.
  const bool numeric =
      std::holds_alternative<std::int64_t>(raw) || std::holds_alternative<double>(raw);
  if (type == ValueType::kBool || type == ValueType::kBit) {
    return {{}, fmt::format("expected true or false, got {}", describe_value(value))};
  }
  if (type == ValueType::kString) {
    if (!std::holds_alternative<std::string>(value)) {
      return {{}, fmt::format("expected a string, got {}", describe_value(value))};
    }
    return {{},
            fmt::format("expected at most {} printable ASCII characters, got {}", spec.count * 2,
                        describe_value(value))};
  }
  if (!numeric) return {{}, fmt::format("expected a number, got {}", describe_value(value))};
  if (scaled) {
    return {{},
            fmt::format("{} is out of range for {} (raw value {})", format_value(value), type_name,
                        format_value(raw))};
  }
  return {{}, fmt::format("{} is out of range for {}", format_value(value), type_name)};
}

}  // namespace fieldgate::modbus
