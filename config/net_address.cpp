#include "config/net_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace fieldgate::config {
namespace {

constexpr int kV4MappedBits = 96;

std::optional<int> parse_int(std::string_view text, int lo, int hi) {
  int value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < lo || value > hi) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

IpAddress IpAddress::loopback_v4() noexcept {
  IpAddress a;
  a.v4 = true;
  a.bytes[10] = 0xff;
  a.bytes[11] = 0xff;
  a.bytes[12] = 127;
  a.bytes[15] = 1;
  return a;
}

bool IpAddress::is_loopback() const noexcept {
  if (v4) return bytes[12] == 127;  // 127.0.0.0/8
  for (std::size_t i = 0; i < 15; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[15] == 1;  // ::1
}

bool IpNetwork::contains(const IpAddress& client) const noexcept {
  int bits = prefix;
  for (std::size_t i = 0; i < client.bytes.size() && bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
    if ((client.bytes[i] & mask) != (address.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string copy(text);  // inet_pton needs a terminated string
  IpAddress a;
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    a.v4 = true;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    // A client on a dual-stack socket appears as ::ffff:a.b.c.d.
    a.v4 = IN6_IS_ADDR_V4MAPPED(&v6);
    return a;
  }
  return std::nullopt;
}

std::optional<IpNetwork> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  const auto address = parse_ip(text.substr(0, slash));
  if (!address) return std::nullopt;
  IpNetwork net{*address, 128, std::string(text)};
  if (slash != std::string_view::npos) {
    const auto prefix = parse_int(text.substr(slash + 1), 0, address->v4 ? 32 : 128);
    if (!prefix) return std::nullopt;
    net.prefix = address->v4 ? kV4MappedBits + *prefix : *prefix;
  }
  return net;
}

std::optional<ListenAddress> parse_listen(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    const auto a = parse_ip(host);
    if (!a || a->v4) return std::nullopt;
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // IPv6 without brackets: the port would be ambiguous
  }
  const auto address = parse_ip(host);
  const auto port = parse_int(text.substr(colon + 1), 1, 65535);
  if (!address || !port) return std::nullopt;
  return ListenAddress{*address, *port};
}

std::string to_string(const IpAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.v4) {
    inet_ntop(AF_INET, &address.bytes[12], text, sizeof text);
  } else {
    inet_ntop(AF_INET6, address.bytes.data(), text, sizeof text);
  }
  return text;
}

}  // namespace fieldgate::config
