#include "drivers/sunspec/image_writer.hpp"

#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace fieldgate::sunspec {
namespace {

void put(std::span<std::uint16_t> regs, std::uint64_t v) noexcept {
  for (std::size_t i = regs.size(); i-- > 0;) {
    regs[i] = static_cast<std::uint16_t>(v & 0xFFFF);
    v >>= 16;
  }
}

}  // namespace

void write_not_implemented(PointType type, std::span<std::uint16_t> regs) noexcept {
  switch (type) {
    case PointType::kInt16:
    case PointType::kSunssf:
    case PointType::kInt32:
    case PointType::kInt64:
      put(regs, 0);
      regs[0] = 0x8000;
      return;
    case PointType::kAcc16:
    case PointType::kAcc32:
    case PointType::kAcc64:
    case PointType::kString:
    case PointType::kPad:
    case PointType::kCount:
      put(regs, 0);
      return;
    case PointType::kFloat32:
      put(regs, 0x7FC00000U);
      return;
    case PointType::kFloat64:
      put(regs, 0x7FF8000000000000ULL);
      return;
    default:
      put(regs, ~std::uint64_t{0});
      return;
  }
}

ModelImageWriter::ModelImageWriter(const ModelDef& def, int repeats)
    : def_(def), repeats_(repeats) {
  const auto length = def.fixed_length + static_cast<std::size_t>(repeats) * def.repeat_length;
  words_.assign(2 + length, 0);
  words_[0] = def.id;
  words_[1] = static_cast<std::uint16_t>(length);
  const std::span body = std::span(words_).subspan(2);
  for (const auto& p : def.fixed) write_not_implemented(p.type, body.subspan(p.offset, p.size));
  for (int k = 0; k < repeats; ++k) {
    const auto base = def.fixed_length + static_cast<std::size_t>(k) * def.repeat_length;
    for (const auto& p : def.repeat) {
      write_not_implemented(p.type, body.subspan(base + p.offset, p.size));
    }
  }
}

const PointDef& ModelImageWriter::find(std::string_view name, int repeat, std::size_t& base) const {
  if (repeat < 0 || repeat > repeats_) throw std::out_of_range("no such repeat");
  base = 2 + (repeat == 0 ? 0 : def_.fixed_length + (repeat - 1) * std::size_t{def_.repeat_length});
  for (const auto& p : repeat == 0 ? def_.fixed : def_.repeat) {
    if (name == p.sunspec_name) return p;
  }
  throw std::out_of_range(fmt::format("model {} has no point {}", def_.id, name));
}

void ModelImageWriter::set_scale(std::string_view sunspec_name, int sf, int repeat) {
  std::size_t base = 0;
  const auto& p = find(sunspec_name, repeat, base);
  words_[base + p.offset] = static_cast<std::uint16_t>(static_cast<std::int16_t>(sf));
}

void ModelImageWriter::set(std::string_view sunspec_name, double value, int repeat) {
  std::size_t base = 0;
  const auto& p = find(sunspec_name, repeat, base);
  const auto regs = std::span(words_).subspan(base + p.offset, p.size);
  if (p.type == PointType::kFloat32) {
    put(regs, std::bit_cast<std::uint32_t>(static_cast<float>(value)));
    return;
  }
  if (p.type == PointType::kFloat64) {
    put(regs, std::bit_cast<std::uint64_t>(value));
    return;
  }
  int sf = 0;
  if (p.sf.kind == SfKind::kConstant) sf = p.sf.value;
  if (p.sf.kind == SfKind::kFixed) sf = static_cast<std::int16_t>(words_[2 + p.sf.value]);
  if (p.sf.kind == SfKind::kRepeat) sf = static_cast<std::int16_t>(words_[base + p.sf.value]);
  const auto raw = std::llround(value * std::pow(10.0, -sf));
  put(regs, static_cast<std::uint64_t>(raw));
}

void ModelImageWriter::set_string(std::string_view sunspec_name, std::string_view text,
                                  int repeat) {
  std::size_t base = 0;
  const auto& p = find(sunspec_name, repeat, base);
  for (std::size_t i = 0; i < p.size; ++i) {
    const auto hi = 2 * i < text.size() ? static_cast<unsigned char>(text[2 * i]) : 0U;
    const auto lo = 2 * i + 1 < text.size() ? static_cast<unsigned char>(text[2 * i + 1]) : 0U;
    words_[base + p.offset + i] = static_cast<std::uint16_t>((hi << 8) | lo);
  }
}

}  // namespace fieldgate::sunspec
