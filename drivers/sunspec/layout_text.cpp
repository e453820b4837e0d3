// A layout as one line of text (the store's meta) and back; the line read
// back is checked as strictly as a walk, since the file may have been edited.
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "drivers/sunspec/layout.hpp"
#include "drivers/sunspec/model_table.hpp"

namespace fieldgate::sunspec {
namespace {

constexpr std::string_view kHeader = "sunspec 1 base ";
constexpr std::string_view kModels = " models";

bool take_number(std::string_view& text, char end, long& value) {
  const auto* first = text.data();
  const auto* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || ptr == first || value < 0 || value > 65535) return false;
  text.remove_prefix(static_cast<std::size_t>(ptr - first));
  if (end != '\0') {
    if (text.empty() || text.front() != end) return false;
    text.remove_prefix(1);
  }
  return true;
}

}  // namespace

std::string to_text(const Layout& layout) {
  std::string text = fmt::format("{}{}{}", kHeader, layout.base, kModels);
  for (const auto& m : layout.models) text += fmt::format(" {}@{}+{}", m.id, m.address, m.length);
  return text;
}

std::optional<Layout> parse_layout(std::string_view text, const WalkLimits& limits,
                                   std::string& error) {
  const auto bad = [&](std::string why) -> std::optional<Layout> {
    error = std::move(why);
    return std::nullopt;
  };
  if (!text.starts_with(kHeader)) return bad("not a SunSpec layout line");
  text.remove_prefix(kHeader.size());
  long base = 0;
  if (!take_number(text, '\0', base) || (base != 0 && base != 40000 && base != 50000)) {
    return bad("bad base address");
  }
  if (!text.starts_with(kModels)) return bad("no model list");
  text.remove_prefix(kModels.size());
  Layout layout;
  layout.base = static_cast<std::uint16_t>(base);
  long next = base + 2;
  long total = 0;
  while (!text.empty()) {
    if (text.front() != ' ') return bad("bad separator");
    text.remove_prefix(1);
    long id = 0, address = 0, length = 0;
    if (!take_number(text, '@', id) || !take_number(text, '+', address) ||
        !take_number(text, '\0', length)) {
      return bad("bad model entry");
    }
    if (id == 0 || id == 0xFFFF) return bad("bad model id");
    // In order and without overlap: each model starts where the last ended.
    if (address != next) return bad(fmt::format("model {} at {}, expected {}", id, address, next));
    if (address + 2 + length > 65536) return bad("a model runs past register 65535");
    total += length;
    if (static_cast<int>(layout.models.size()) >= limits.max_models ||
        total > limits.max_total_registers) {
      return bad("beyond the walk's limits");
    }
    layout.models.push_back({static_cast<std::uint16_t>(id), static_cast<std::uint16_t>(address),
                             static_cast<std::uint16_t>(length)});
    next = address + 2 + length;
  }
  if (layout.models.empty()) return bad("no models");
  return layout;
}

std::vector<std::string> point_prefixes(const Layout& layout) {
  std::vector<std::string> prefixes;
  std::map<std::string, int, std::less<>> seen;
  for (const auto& m : layout.models) {
    const auto* def = find_model(m.id);
    if (def == nullptr) {
      prefixes.emplace_back();
      continue;
    }
    const int n = ++seen[def->prefix];
    prefixes.push_back(n == 1 ? std::string(def->prefix) : fmt::format("{}_{}", def->prefix, n));
  }
  return prefixes;
}

std::string describe(const Layout& layout) {
  std::string text;
  for (const auto& m : layout.models) {
    if (!text.empty()) text += ", ";
    const auto name = model_name(m.id);
    text += fmt::format("{} {}{} @{} ({})", m.id, name.empty() ? "unknown" : name,
                        find_model(m.id) != nullptr ? "" : " [not decoded]", m.address, m.length);
  }
  return text;
}

}  // namespace fieldgate::sunspec
