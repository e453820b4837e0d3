// Fuzz target: MQTT topic templates (config/topic_template.*).
//
// Input:
//   0  scope (% 3: point, device, gateway)
//   then five length-prefixed values: gateway, site, device, point, unit
//   the rest: the template
//
// Checks: validation never fails without a message; a template it accepts
// expands, with any values, to a topic that has no wildcard or NUL, the same
// number of levels as the template (a value cannot add one), no placeholder
// left over from the template, and no empty level when every value used is
// non-empty.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/topic_template.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace fieldgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  const auto scope = static_cast<config::TopicScope>(in.byte() % 3);
  const std::string gateway = in.text(16);
  const std::string site = in.text(16);
  const std::string device = in.text(16);
  const std::string point = in.text(16);
  const std::string unit = in.text(16);
  const std::string_view text = in.rest();

  const std::string problem = config::validate_topic_template(text, scope);
  // expand must not crash on an invalid template either.
  const config::TopicVars vars{gateway, site, device, point, unit};
  const std::string topic = config::expand_topic_template(text, vars);
  if (!problem.empty()) return 0;

  FUZZ_CHECK(topic.find_first_of(std::string_view("+#\0", 3)) == std::string::npos);
  FUZZ_CHECK(std::count(topic.begin(), topic.end(), '/') ==
             std::count(text.begin(), text.end(), '/'));
  // What is left of the template's own braces: none (values may bring some).
  const std::string bare = config::expand_topic_template(text, {"g", "s", "d", "p", "u"});
  FUZZ_CHECK(bare.find_first_of("{}") == std::string::npos);
  if (!gateway.empty() && !site.empty() && !device.empty() && !point.empty() && !unit.empty()) {
    FUZZ_CHECK(!topic.empty() && topic.front() != '/' && topic.back() != '/');
    FUZZ_CHECK(topic.find("//") == std::string::npos);
  }
  return 0;
}
