#include "config/broker_address.hpp"

#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

namespace fieldgate::config {
namespace {

struct Scheme {
  std::string_view name;
  bool tls;
  int default_port;
};

constexpr std::array<Scheme, 4> kSchemes{{
    {"tcp", false, 1883},
    {"mqtt", false, 1883},
    {"ssl", true, 8883},
    {"mqtts", true, 8883},
}};
constexpr std::string_view kSchemeList = "tcp://, mqtt://, ssl:// or mqtts://";

// Host names (RFC 1123, plus "_" seen on internal networks) and IPv4 addresses.
bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

Parsed<BrokerAddress> fail(std::string error) {
  Parsed<BrokerAddress> out;
  out.error = std::move(error);
  return out;
}

}  // namespace

Parsed<BrokerAddress> parse_broker_address(std::string_view text) {
  const std::size_t separator = text.find("://");
  if (separator == std::string_view::npos) {
    return fail("missing scheme; use " + std::string(kSchemeList));
  }
  const std::string_view scheme_name = text.substr(0, separator);
  const Scheme* scheme = nullptr;
  for (const Scheme& s : kSchemes) {
    if (s.name == scheme_name) scheme = &s;
  }
  if (scheme == nullptr) {
    return fail("unknown scheme \"" + std::string(scheme_name) + "://\"; use " +
                std::string(kSchemeList));
  }
  std::string_view rest = text.substr(separator + 3);
  if (rest.find('@') != std::string_view::npos) {
    // Credentials in the address would end up in logs and `check` output.
    return fail(
        "a user name or password does not belong in the address; use username and "
        "password_file");
  }

  BrokerAddress out;
  out.scheme = scheme->name;
  out.tls = scheme->tls;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail("missing \"]\" after the IPv6 address");
    out.host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    for (char c : out.host) {
      if (!is_ipv6_char(c)) return fail("not an IPv6 address: \"" + out.host + "\"");
    }
  } else {
    std::size_t end = 0;
    while (end < rest.size() && is_host_char(rest[end])) ++end;
    out.host = rest.substr(0, end);
    rest.remove_prefix(end);
  }
  if (out.host.empty()) return fail("missing host");

  out.port = scheme->default_port;
  const bool has_port = !rest.empty() && rest.front() == ':';
  if (has_port) {
    const std::string_view digits = rest.substr(1);
    std::size_t end = 0;
    while (end < digits.size() && digits[end] >= '0' && digits[end] <= '9') ++end;
    int port = 0;
    const std::from_chars_result result = std::from_chars(digits.data(), digits.data() + end, port);
    if (end == 0 || result.ec != std::errc{} || port < 1 || port > 65535) {
      return fail("expected a port 1..65535 after \":\"");
    }
    out.port = port;
    rest = digits.substr(end);
  }
  if (!rest.empty()) {
    return fail("unexpected \"" + std::string(rest) + "\" after the " +
                (has_port ? "port" : "host") + "; the form is scheme://host[:port]");
  }
  Parsed<BrokerAddress> parsed;
  parsed.value = std::move(out);
  return parsed;
}

}  // namespace fieldgate::config
