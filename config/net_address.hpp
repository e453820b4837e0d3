// IP addresses and networks as the Modbus server's `listen` and `allow` keys
// write them: literals only (no name lookup at load or at accept), IPv4 or
// IPv6, a network with a prefix length ("10.0.0.0/8", "fd00::/8").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fieldgate::config {

/// An IPv4 or IPv6 address; IPv4 is kept as its IPv4-mapped IPv6 form so that
/// a client seen on a dual-stack socket compares equal.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;

  [[nodiscard]] static IpAddress loopback_v4() noexcept;
  [[nodiscard]] bool is_loopback() const noexcept;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

/// An address and how many leading bits of it a client must share.
struct IpNetwork {
  IpAddress address;
  int prefix = 128;  // in IPv6 bits: an IPv4 /24 is 96 + 24
  std::string text;  // as written, for messages

  [[nodiscard]] bool contains(const IpAddress& client) const noexcept;
};

/// "192.168.1.5", "::1": the address, or nullopt.
[[nodiscard]] std::optional<IpAddress> parse_ip(std::string_view text);
/// "192.168.1.0/24", "fd00::/8", or a bare address (all bits).
[[nodiscard]] std::optional<IpNetwork> parse_network(std::string_view text);

/// "127.0.0.1:1502", "[::1]:502": an address and a port 1..65535.
struct ListenAddress {
  IpAddress address;
  int port = 0;
};
[[nodiscard]] std::optional<ListenAddress> parse_listen(std::string_view text);

/// The address as text ("127.0.0.1", "::1").
[[nodiscard]] std::string to_string(const IpAddress& address);

}  // namespace fieldgate::config
