// A reading's value as JSON, the one rule for payloads, command results and
// the command line: null for no value, and for NaN and infinities, which JSON
// cannot express.
#pragma once

#include <cmath>
#include <type_traits>
#include <variant>

#include "core/reading.hpp"

namespace fieldgate::bridge {

/// `Json` is nlohmann::json or nlohmann::ordered_json.
template <class Json>
[[nodiscard]] Json value_to_json(const Value& value) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(v)) return nullptr;
          return v;
        } else {
          return v;
        }
      },
      value);
}

}  // namespace fieldgate::bridge
