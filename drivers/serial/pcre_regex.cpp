#include "drivers/serial/pcre_regex.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace fieldgate::serial {

PcreRegex::PcreRegex(std::string_view pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0,
                            &error_code, &error_offset, nullptr));
  if (!code_) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    throw std::invalid_argument(fmt::format("regular expression does not compile: {} at offset {}",
                                            reinterpret_cast<const char*>(message), error_offset));
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
