#include "config/serial_pattern.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <memory>

namespace fieldgate::config {
namespace {

struct CodeFree {
  void operator()(pcre2_code* code) const noexcept { pcre2_code_free(code); }
};

}  // namespace

PatternInfo inspect_pattern(std::string_view pattern) {
  PatternInfo info;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  const std::unique_ptr<pcre2_code, CodeFree> code(
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0, &error_code,
                    &error_offset, nullptr));
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    info.error = reinterpret_cast<const char*>(message);
    info.offset = error_offset;
    return info;
  }
  std::uint32_t count = 0;
  std::uint32_t entry_size = 0;
  PCRE2_SPTR table = nullptr;
  pcre2_pattern_info(code.get(), PCRE2_INFO_NAMECOUNT, &count);
  pcre2_pattern_info(code.get(), PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
  pcre2_pattern_info(code.get(), PCRE2_INFO_NAMETABLE, &table);
  // Each entry: the group number in two bytes, then the NUL-terminated name;
  // the table is sorted by name, so reorder by group number.
  std::vector<std::pair<int, std::string>> groups;
  for (std::uint32_t i = 0; i < count; ++i) {
    const PCRE2_SPTR entry = table + static_cast<std::size_t>(i) * entry_size;
    groups.emplace_back((entry[0] << 8) | entry[1], reinterpret_cast<const char*>(entry + 2));
  }
  std::sort(groups.begin(), groups.end());
  for (auto& [number, name] : groups) info.group_names.push_back(std::move(name));
  return info;
}

}  // namespace fieldgate::config
