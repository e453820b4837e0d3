// PcreRegex: a compiled PCRE2 pattern and its match data, owned by
// unique_ptrs (PCRE2 is C). std::regex has no named groups and is slow.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fieldgate::serial {

/// What compiling a pattern said: the schema reports it with the key's
/// position at load time, so a bad pattern never reaches the driver.
struct PatternInfo {
  std::string error;                     // "" when the pattern compiled; else PCRE2's message
  std::size_t offset = 0;                // where in the pattern PCRE2 gave up (with an error)
  std::vector<std::string> group_names;  // named capture groups, in pattern order
};

class PcreRegex {
 public:
  /// Throws std::invalid_argument with PCRE2's message and the offset when the
  /// pattern does not compile (the config loader reports that earlier).
  explicit PcreRegex(std::string_view pattern);

  /// Compiles `pattern` the same way, for its error or its named groups.
  [[nodiscard]] static PatternInfo inspect(std::string_view pattern);

  /// The number of the named group, or -1 when the pattern has none of that name.
  [[nodiscard]] int group_number(const std::string& name) const noexcept;

  /// Matches `subject`; on success, one entry per group number (0 = the whole
  /// match), nullopt for a group that did not take part. nullopt: no match.
  /// Not thread-safe (the match data is reused): one regex per driver.
  [[nodiscard]] std::optional<std::vector<std::optional<std::string_view>>> match(
      std::string_view subject) const;

 private:
  struct CodeFree {
    void operator()(pcre2_code* p) const noexcept { pcre2_code_free(p); }
  };
  struct MatchDataFree {
    void operator()(pcre2_match_data* p) const noexcept { pcre2_match_data_free(p); }
  };
  using Code = std::unique_ptr<pcre2_code, CodeFree>;
  /// The one place a pattern is compiled; on failure, the error in `info`.
  static Code compile(std::string_view pattern, PatternInfo& info);

  Code code_;
  std::unique_ptr<pcre2_match_data, MatchDataFree> match_data_;
};

}  // namespace fieldgate::serial
