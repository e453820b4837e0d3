// MQTT topic templates: "fieldgate/{gateway}/{device}/{point}". Validated when
// the config is loaded, expanded by bridge/topics when readings are published.
#pragma once

#include <string>
#include <string_view>

namespace fieldgate::config {

/// The values placeholders expand to.
struct TopicVars {
  std::string_view gateway;
  std::string_view site;
  std::string_view device;
  std::string_view point;
  std::string_view unit;
};

/// Which placeholders a template may use.
enum class TopicScope {
  kPoint,    // {gateway} {site} {device} {point} {unit}
  kDevice,   // {gateway} {site} {device}
  kGateway,  // {gateway} {site}
};

/// "" when `text` is a valid template for `scope`, else what is wrong:
/// unknown or unclosed placeholder, '+' or '#' (wildcards are for
/// subscribers), a leading '$' (reserved for the broker), an empty level
/// ("a//b", leading or trailing '/'), or more than 65535 bytes.
[[nodiscard]] std::string validate_topic_template(std::string_view text, TopicScope scope);

/// Replaces every placeholder. Characters of a value that would change the
/// topic's structure ('/', '+', '#', NUL) become '_' — for units such as
/// "m/s". Assumes a valid template.
[[nodiscard]] std::string expand_topic_template(std::string_view text, const TopicVars& vars);

}  // namespace fieldgate::config
