// One TOML table being read: typed getters that report every problem to the
// Diagnostics instead of throwing, and the unknown-key check. Shared by the
// readers in loader.cpp (gateway, buses, devices), loader_uplink.cpp (store,
// mqtt) and the drivers' schemas (drivers/<kind>/schema.cpp, their own keys).
// With those, the only files that include toml++ (it is heavy to compile).
#pragma once

#include <fmt/format.h>

#include <toml++/toml.h>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/bounds.hpp"
#include "config/config.hpp"
#include "config/diagnostics.hpp"
#include "config/schema.hpp"

namespace fieldgate::config {

[[nodiscard]] SourcePos pos_of(const toml::source_region& region);
[[nodiscard]] std::string quote(std::string_view s);
/// "integer 5", "string \"x\"", "table": what the user wrote, for "got ...".
[[nodiscard]] std::string describe(const toml::node& node);

enum class Need { kOptional, kRequired };

/// Stores a value that was read and valid; leaves the default otherwise.
template <class T, class U>
void assign(T& field, const std::optional<U>& value) {
  if (value) field = static_cast<T>(*value);
}

class Section {
 public:
  Section(Diagnostics& diag, const toml::table& table, std::string path, Keys known);

  [[nodiscard]] SourcePos pos() const { return pos_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string path_of(std::string_view key) const;
  /// The key's value in this table, else in the inherited defaults (if any).
  [[nodiscard]] const toml::node* find(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (node != nullptr || defaults_ == nullptr) return node;
    node = defaults_->get(key);
    if (node != nullptr && overrides_ != nullptr) {
      if (const toml::node* own = overrides_->get(key)) return own;
    }
    return node;
  }
  /// Keys this table does not set are read from `defaults` (a model file's
  /// [defaults], config/model_file.hpp); a bad default is reported where it is.
  /// A key `defaults` sets that `overrides` (the device that uses the model)
  /// sets too is read from `overrides`.
  void inherit(const toml::table& defaults, const toml::table* overrides = nullptr) {
    defaults_ = &defaults;
    overrides_ = overrides;
  }
  /// The table this section reads (without inherited defaults).
  [[nodiscard]] const toml::table& own_table() const noexcept { return table_; }
  /// Where problems go, for readers that report at an array element.
  [[nodiscard]] Diagnostics& diagnostics() { return diag_; }
  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }
  [[nodiscard]] SourcePos pos_of_key(std::string_view key) const;

  void report(std::string_view key, std::string message);
  void missing(std::string_view key, std::string_view why = {});
  /// Was a problem reported at this key already (by any reader)?
  [[nodiscard]] bool reported(std::string_view key) const { return diag_.has_issue(path_of(key)); }
  /// For keys that are valid in general but not in this combination.
  void reject(std::string_view key, std::string_view why) {
    if (has(key)) report(key, std::string(why));
  }
  /// For keys that must never be written (a secret): reported with `why`, and
  /// not again as an unknown key.
  void forbid(std::string_view key, std::string_view why);

  std::optional<std::string> string(std::string_view key, Need need = Need::kOptional);
  std::optional<std::string> non_empty_string(std::string_view key, Need need);
  /// A string of at most `max_bytes` (after ${ENV} substitution).
  std::optional<std::string> bounded_string(std::string_view key, std::size_t max_bytes);
  /// Names end up in MQTT topics and log lines (is_valid_name, kMaxNameBytes).
  std::optional<std::string> name(std::string_view key, Need need);

  /// `hi` = the type's maximum reads "an integer >= lo".
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo,
                                      std::int64_t hi = std::numeric_limits<std::int64_t>::max(),
                                      Need need = Need::kOptional);
  /// An integer in lo..hi or one of a few values beyond it ("an integer
  /// 0..247 or 255"), for protocols that reserve such values.
  std::optional<std::int64_t> integer_or(std::string_view key, std::int64_t lo, std::int64_t hi,
                                         std::span<const std::int64_t> also);
  std::optional<std::int64_t> integer_of(std::string_view key,
                                         std::span<const std::int64_t> allowed,
                                         std::string_view expected);
  std::optional<double> number(std::string_view key);
  std::optional<bool> boolean(std::string_view key);

  /// A duration ("250ms", parse_duration) within `range` (config/bounds.hpp).
  std::optional<Duration> duration(std::string_view key, DurationRange range);
  /// A byte size ("256MiB", parse_size) within `range`.
  std::optional<std::uint64_t> size(std::string_view key, SizeRange range);

  /// One of a fixed list of strings; returns the index into `names`.
  std::optional<std::size_t> one_of(std::string_view key, std::span<const std::string_view> names,
                                    Need need = Need::kOptional);

  template <class Enum, std::size_t N>
  std::optional<Enum> choice(std::string_view key, const std::array<Enum, N>& values,
                             Need need = Need::kOptional) {
    std::array<std::string_view, N> names{};
    for (std::size_t i = 0; i < N; ++i) names[i] = to_string(values[i]);
    const auto index = one_of(key, names, need);
    if (!index) return std::nullopt;
    return values[*index];
  }

  // Nested tables and arrays, for the caller to walk.
  const toml::table* table(std::string_view key, std::string_view hint);
  const toml::array* array_of_tables(std::string_view key, std::string_view hint);

  /// Reads each element of an array of tables as a Section; non-tables are reported.
  template <class Fn>
  void for_each_table(const toml::array& array, std::string_view key, Keys known, Fn&& read) {
    for (std::size_t i = 0; i < array.size(); ++i) {
      const toml::node& element = *array.get(i);
      const std::string element_path = fmt::format("{}[{}]", path_of(key), i);
      if (!element.is_table()) {
        diag_.add(pos_of(element.source()), element_path,
                  "expected a table, got " + describe(element));
        continue;
      }
      Section child(diag_, *element.as_table(), element_path, known);
      read(child);
    }
  }

  [[nodiscard]] Section child(const toml::table& table, std::string_view key, Keys known) {
    return Section(diag_, table, path_of(key), known);
  }

  void check_unknown_keys();

 private:
  const toml::node* present(std::string_view key, Need need);

  template <class T>
  T ok(std::string_view key, T value) {
    diag_.remember(path_of(key), pos_of_key(key));
    return value;
  }

  /// A string with a ${...} reference where a non-string is expected: the
  /// environment can only give strings. A literal string is a type error.
  template <class T, class Parse>
  std::optional<T> from_env(std::string_view key, const toml::node& node, std::string_view expected,
                            Parse parse);

  std::optional<std::int64_t> raw_integer(std::string_view key, Need need,
                                          std::string_view expected);

  Diagnostics& diag_;
  const toml::table& table_;
  std::string path_;
  Keys known_;
  std::vector<std::string_view> forbidden_;
  const toml::table* defaults_ = nullptr;
  const toml::table* overrides_ = nullptr;
  SourcePos pos_;
};

}  // namespace fieldgate::config
