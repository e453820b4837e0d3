// [mqtt] broker addresses (config/broker_address.hpp).
#include <gtest/gtest.h>

#include <string>

#include "config/broker_address.hpp"

namespace fieldgate::config {
namespace {

BrokerAddress broker_ok(const std::string& text) {
  const Parsed<BrokerAddress> parsed = parse_broker_address(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.error;
  return parsed.value.value_or(BrokerAddress{});
}

std::string broker_error(const std::string& text) {
  const Parsed<BrokerAddress> parsed = parse_broker_address(text);
  EXPECT_FALSE(parsed) << text << " parsed";
  return parsed.error;
}

TEST(ConfigBrokerTest, ReadsSchemeHostAndPort) {
  const BrokerAddress plain = broker_ok("tcp://192.168.1.10:1884");
  EXPECT_EQ(plain.scheme, "tcp");
  EXPECT_EQ(plain.host, "192.168.1.10");
  EXPECT_EQ(plain.port, 1884);
  EXPECT_FALSE(plain.tls);

  const BrokerAddress tls = broker_ok("mqtts://broker.example.com");
  EXPECT_EQ(tls.scheme, "mqtts");
  EXPECT_EQ(tls.host, "broker.example.com");
  EXPECT_EQ(tls.port, 8883);  // the TLS default
  EXPECT_TRUE(tls.tls);

  EXPECT_EQ(broker_ok("mqtt://localhost").port, 1883);
  EXPECT_FALSE(broker_ok("mqtt://localhost").tls);
  EXPECT_TRUE(broker_ok("ssl://b:1").tls);
  EXPECT_EQ(broker_ok("ssl://b:65535").port, 65535);
  EXPECT_EQ(broker_ok("tcp://my_broker-1.lan").host, "my_broker-1.lan");
}

TEST(ConfigBrokerTest, ReadsBracketedIpv6) {
  const BrokerAddress v6 = broker_ok("tcp://[fe80::1]:1883");
  EXPECT_EQ(v6.host, "fe80::1");
  EXPECT_EQ(v6.port, 1883);
  EXPECT_EQ(broker_ok("ssl://[::1]").port, 8883);
  EXPECT_EQ(broker_error("tcp://[::1"), "missing \"]\" after the IPv6 address");
  EXPECT_EQ(broker_error("tcp://[broker]"), "not an IPv6 address: \"broker\"");
  EXPECT_EQ(broker_error("tcp://::1"), "missing host");
}

TEST(ConfigBrokerTest, RejectsOtherSchemes) {
  const std::string schemes = "use tcp://, mqtt://, ssl:// or mqtts://";
  EXPECT_EQ(broker_error("broker:1883"), "missing scheme; " + schemes);
  EXPECT_EQ(broker_error("http://broker"), "unknown scheme \"http://\"; " + schemes);
  EXPECT_EQ(broker_error("ws://broker/mqtt"), "unknown scheme \"ws://\"; " + schemes);
  EXPECT_EQ(broker_error("TCP://broker"), "unknown scheme \"TCP://\"; " + schemes);
  EXPECT_EQ(broker_error(""), "missing scheme; " + schemes);
}

TEST(ConfigBrokerTest, RejectsMalformedAddresses) {
  EXPECT_EQ(broker_error("tcp://"), "missing host");
  EXPECT_EQ(broker_error("tcp://:1883"), "missing host");
  EXPECT_EQ(broker_error("tcp://b:"), "expected a port 1..65535 after \":\"");
  EXPECT_EQ(broker_error("tcp://b:0"), "expected a port 1..65535 after \":\"");
  EXPECT_EQ(broker_error("tcp://b:65536"), "expected a port 1..65535 after \":\"");
  EXPECT_EQ(broker_error("tcp://b:99999999999"), "expected a port 1..65535 after \":\"");
  EXPECT_EQ(broker_error("tcp://b:1883/x"),
            "unexpected \"/x\" after the port; the form is scheme://host[:port]");
  EXPECT_EQ(broker_error("tcp://b c"),
            "unexpected \" c\" after the host; the form is scheme://host[:port]");
}

TEST(ConfigBrokerTest, RejectsCredentialsInTheAddress) {
  EXPECT_EQ(broker_error("tcp://user:secret@broker:1883"),
            "a user name or password does not belong in the address; use username and "
            "password_file");
}

}  // namespace
}  // namespace fieldgate::config
