// "value": one message per reading, the bare value as text.
#include <fmt/format.h>

#include <variant>

#include "bridge/payload_formats.hpp"

namespace fieldgate::bridge {

std::string value_payload(const Reading& reading) {
  if (reading.quality != Quality::kGood) return {};
  struct Visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return fmt::format("{}", i); }
    // fmt prints the shortest text that reads back as the same double.
    std::string operator()(double d) const { return fmt::format("{}", d); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, reading.value);
}

std::unique_ptr<PayloadEncoder> make_value_encoder() {
  return std::make_unique<PerReadingEncoder<&value_payload>>();
}

}  // namespace fieldgate::bridge
