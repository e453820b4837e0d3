// Fuzz target: the [mqtt] broker address (config/broker_address.*).
//
// Input: the text as is.
//
// Checks: parsing never fails without a message; an accepted address has a
// known scheme, a non-empty host without '@', '/' or spaces, a port 1..65535
// and TLS exactly for ssl/mqtts; and it is canonical: written back as
// scheme://host:port (IPv6 in brackets) it parses to the same parts.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/broker_address.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace fieldgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = config::parse_broker_address(text);
  FUZZ_CHECK(parsed.value.has_value() == parsed.error.empty());
  if (!parsed) return 0;
  const config::BrokerAddress& a = *parsed.value;
  FUZZ_CHECK(a.scheme == "tcp" || a.scheme == "mqtt" || a.scheme == "ssl" || a.scheme == "mqtts");
  FUZZ_CHECK(a.tls == (a.scheme == "ssl" || a.scheme == "mqtts"));
  FUZZ_CHECK(!a.host.empty() && a.host.find_first_of("@/ \t\r\n[]") == std::string::npos);
  FUZZ_CHECK(a.port >= 1 && a.port <= 65535);

  const bool ipv6 = a.host.find(':') != std::string::npos;
  const std::string again =
      a.scheme + "://" + (ipv6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
  const auto reparsed = config::parse_broker_address(again);
  FUZZ_CHECK(reparsed && reparsed.value->scheme == a.scheme && reparsed.value->host == a.host &&
             reparsed.value->port == a.port && reparsed.value->tls == a.tls);
  return 0;
}
