// Collects the problems of one configuration file, and where each key was
// found, so every check can point at the exact value it complains about.
// Private to config/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace fieldgate::config {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void add(SourcePos pos, std::string key_path, std::string message) {
    issues_.push_back({file_, pos, std::move(key_path), std::move(message)});
  }

  /// An issue found in another file (a model file the configuration uses).
  void add_issue(ConfigIssue issue) { issues_.push_back(std::move(issue)); }

  /// Hands over the issues found so far (a model file's, read on their own).
  [[nodiscard]] std::vector<ConfigIssue> take_issues() { return std::exchange(issues_, {}); }

  /// Records where the value of `key_path` was read (only values that were
  /// valid); a later record of the same path replaces an earlier one.
  void remember(std::string_view key_path, SourcePos pos) {
    positions_.emplace_back(hash_of(key_path), pos);
    sorted_ = false;
  }

  /// Where `key_path` was read, or `fallback` (the enclosing table) if it was not.
  [[nodiscard]] SourcePos position(std::string_view key_path, SourcePos fallback) const {
    if (!sorted_) {
      // Stable: among the records of one path the latest stays last.
      std::stable_sort(positions_.begin(), positions_.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      sorted_ = true;
    }
    const std::uint64_t hash = hash_of(key_path);
    const auto end = std::upper_bound(positions_.begin(), positions_.end(), hash,
                                      [](std::uint64_t h, const auto& e) { return h < e.first; });
    if (end == positions_.begin() || std::prev(end)->first != hash) return fallback;
    return std::prev(end)->second;
  }

  [[nodiscard]] bool empty() const noexcept { return issues_.empty(); }

  /// Was a problem reported at `key_path`? Checks built on a value skip it then.
  [[nodiscard]] bool has_issue(std::string_view key_path) const {
    return any_issue([key_path](std::string_view path) { return path == key_path; });
  }
  /// Was a problem reported at a key path for which `pred(key_path)` holds?
  template <class Pred>
  [[nodiscard]] bool any_issue(Pred pred) const {
    return std::any_of(issues_.begin(), issues_.end(),
                       [&pred](const ConfigIssue& issue) { return pred(issue.key_path); });
  }

  /// Throws ConfigError with every issue, in file order, if there is any.
  /// The sort is stable: issues at one position keep the order they were found in.
  void throw_if_any() {
    if (issues_.empty()) return;
    // The file's own issues first, then those of the model files it uses.
    std::stable_sort(
        issues_.begin(), issues_.end(), [this](const ConfigIssue& a, const ConfigIssue& b) {
          const bool a_other = a.file != file_;
          const bool b_other = b.file != file_;
          if (a_other != b_other) return b_other;
          if (a.file != b.file) return a.file < b.file;
          return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
        });
    throw ConfigError(std::move(issues_));
  }

 private:
  std::string file_;
  std::vector<ConfigIssue> issues_;
  // Where each value was read, by a 64-bit hash of its key path: every key of
  // every point is remembered for the checks across tables. A map of path
  // strings (over 100 bytes an entry, 16 here) was the largest thing a load
  // of 10,000 points kept, and the holes it left cost the running gateway
  // 3.5 MiB of resident heap. Two paths of one file sharing a hash would only
  // swap the line a message points at. Sorted when first asked.
  static std::uint64_t hash_of(std::string_view key_path) noexcept {
    return std::hash<std::string_view>{}(key_path);
  }
  mutable std::vector<std::pair<std::uint64_t, SourcePos>> positions_;
  mutable bool sorted_ = true;
};

}  // namespace fieldgate::config
