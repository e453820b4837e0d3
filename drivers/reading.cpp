#include "drivers/reading.hpp"

#include <fmt/format.h>

namespace fieldgate {

std::string_view to_string(Quality q) noexcept {
  switch (q) {
    case Quality::kGood:
      return "good";
    case Quality::kTimeout:
      return "timeout";
    case Quality::kException:
      return "exception";
    case Quality::kBadResponse:
      return "bad_response";
    case Quality::kNoConnection:
      return "no_connection";
  }
  return "unknown";
}

std::string format_value(const Value& v) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "-"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return fmt::format("{}", i); }
    std::string operator()(double d) const { return fmt::format("{}", d); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, v);
}

}  // namespace fieldgate
