#include "drivers/serial/pcre_regex.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace fieldgate::serial {

PcreRegex::Code PcreRegex::compile(std::string_view pattern, PatternInfo& info) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  Code code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0,
                          &error_code, &error_offset, nullptr));
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    info.error = reinterpret_cast<const char*>(message);
    info.offset = error_offset;
  }
  return code;
}

PatternInfo PcreRegex::inspect(std::string_view pattern) {
  PatternInfo info;
  const Code code = compile(pattern, info);
  if (!code) return info;
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

PcreRegex::PcreRegex(std::string_view pattern) {
  PatternInfo info;
  code_ = compile(pattern, info);
  if (!code_) {
    throw std::invalid_argument(fmt::format("regular expression does not compile: {} at offset {}",
                                            info.error, info.offset));
  }
  match_data_.reset(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
  if (!match_data_) throw std::bad_alloc();
}

int PcreRegex::group_number(const std::string& name) const noexcept {
  const int n =
      pcre2_substring_number_from_name(code_.get(), reinterpret_cast<PCRE2_SPTR>(name.c_str()));
  return n > 0 ? n : -1;
}

std::optional<std::vector<std::optional<std::string_view>>> PcreRegex::match(
    std::string_view subject) const {
  const int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                             subject.size(), 0, 0, match_data_.get(), nullptr);
  if (rc < 0) return std::nullopt;  // no match, or a match error (e.g. the match limit)
  const std::uint32_t pairs = pcre2_get_ovector_count(match_data_.get());
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data_.get());
  std::vector<std::optional<std::string_view>> groups(pairs);
  // Groups past rc did not take part; unset ones inside carry PCRE2_UNSET.
  for (std::uint32_t i = 0; i < pairs && static_cast<int>(i) < rc; ++i) {
    if (ovector[2 * i] == PCRE2_UNSET) continue;
    groups[i] = subject.substr(ovector[2 * i], ovector[2 * i + 1] - ovector[2 * i]);
  }
  return groups;
}

}  // namespace fieldgate::serial
