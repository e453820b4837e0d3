// The forwarder over TLS with a password against mosquitto's TLS-only
// listener: certificates made by the openssl CLI for each test suite. Wrong
// CA, wrong host name, missing client certificate and wrong password must
// each fail with a clear last_error and deliver nothing; the password never
// appears in the log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "bridge/forwarder.hpp"
#include "tests/support/fake_store.hpp"
#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kUser = "gw-user";
constexpr const char* kPassword = "Pa55-w0rd-never-in-logs";

void openssl(const std::filesystem::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const auto result = run_command(std::move(args), dir);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
}

// A CA, a server certificate for 127.0.0.1/localhost signed by it, one for
// another name, a client certificate, and a second, unrelated CA.
class Pki {
 public:
  Pki() {
    make_ca("ca");
    make_ca("wrong-ca");
    sign("server", "ca", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    sign("other-server", "ca", "other.example", "subjectAltName=DNS:other.example");
    sign("client", "ca", "fieldgate-gw", "extendedKeyUsage=clientAuth");
    password_file = dir_.write("password", std::string(kPassword) + "\n").string();
    wrong_password_file = dir_.write("wrong-password", "not-it\n").string();
  }
  [[nodiscard]] std::string file(const std::string& name) const {
    return (dir_.path() / name).string();
  }
  std::string password_file;
  std::string wrong_password_file;

 private:
  void make_ca(const std::string& name) {
    openssl(dir_.path(), {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                          "/CN=fieldgate test " + name, "-keyout", file(name + ".key"), "-out",
                          file(name + ".crt")});
  }
  void sign(const std::string& name, const std::string& ca, const std::string& cn,
            const std::string& extension) {
    const auto ext = dir_.write(name + ".ext", extension + "\n");
    openssl(dir_.path(), {"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn, "-keyout",
                          file(name + ".key"), "-out", file(name + ".csr")});
    openssl(dir_.path(), {"x509", "-req", "-in", file(name + ".csr"), "-CA", file(ca + ".crt"),
                          "-CAkey", file(ca + ".key"), "-CAcreateserial", "-days", "2", "-out",
                          file(name + ".crt"), "-extfile", ext.string()});
  }
  ScratchDir dir_;
};

class MqttTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<Pki>(); }
  static void TearDownTestSuite() { pki_.reset(); }

  BrokerOptions broker_options(const std::string& server = "server") const {
    BrokerOptions o;
    o.cafile = pki_->file("ca.crt");
    o.certfile = pki_->file(server + ".crt");
    o.keyfile = pki_->file(server + ".key");
    o.username = kUser;
    o.password = kPassword;
    return o;
  }

  // mqtts:// (mapped to Paho's ssl://), the right CA, the right password.
  config::Config tls_config(int port, const std::string& host = "127.0.0.1") const {
    config::Config c = mqtt_config("mqtts://" + host + ":" + std::to_string(port));
    c.mqtt.tls.ca_file = pki_->file("ca.crt");
    c.mqtt.username = kUser;
    c.mqtt.password_file = pki_->password_file;
    c.mqtt.reconnect_min = 50ms;
    c.mqtt.reconnect_max = 200ms;
    return c;
  }

  std::unique_ptr<Subscriber> subscribe(const Mosquitto& broker) const {
    return std::make_unique<Subscriber>(broker.uri(), "fieldgate/gw/meter/#", 1, kUser, kPassword,
                                        pki_->file("ca.crt"));
  }

  // Starts a forwarder that cannot connect; returns its last_error once it
  // has failed twice, with nothing delivered and nothing deleted.
  std::string expect_refused(const config::Config& c, Subscriber& sub, const LogCapture& log) {
    FakeStore store;
    ForwarderRig fw(c, store);
    fw->start();
    store.append(make_poll("meter", {"a", "b"}, 1));
    EXPECT_TRUE(wait_until([&] { return fw->stats().connect_failures >= 2; }, 20s));
    EXPECT_FALSE(fw->stats().connected);
    EXPECT_EQ(store.stats().rows, 2U);
    EXPECT_EQ(fw->stats().delivered, 0U);
    fw->stop(0ms);
    EXPECT_TRUE(sub.messages().empty());
    EXPECT_THAT(log.text(), Not(HasSubstr(kPassword)));
    std::printf("[ info ] last_error: %s\n", fw->stats().last_error.c_str());
    return fw->stats().last_error;
  }

  ScratchDir dir_;
  static inline std::unique_ptr<Pki> pki_;
};

TEST_F(MqttTlsTest, DeliversOverTlsWithAPasswordThatIsNeverLogged) {
  LogCapture log;
  Mosquitto broker(dir_.path(), broker_options());
  auto sub = subscribe(broker);
  FakeStore store;
  {
    ForwarderRig fw(tls_config(broker.port()), store);
    fw->start();
    for (int i = 0; i < 10; ++i) store.append(make_poll("meter", {"a", "b"}, i));
    ASSERT_TRUE(sub->wait_for(20, 20s)) << fw->stats().last_error << "\n" << broker.log();
    ASSERT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 10s));
    EXPECT_EQ(fw->stats().connect_failures, 0U);
  }
  const std::string text = log.text();
  EXPECT_THAT(text, HasSubstr("connected to ssl://127.0.0.1:" + std::to_string(broker.port())));
  EXPECT_THAT(text, HasSubstr("password ***"));
  EXPECT_THAT(text, Not(HasSubstr(kPassword)));
}

TEST_F(MqttTlsTest, HostNameFromTheCertificateWorksToo) {
  Mosquitto broker(dir_.path(), broker_options());
  auto sub = subscribe(broker);
  FakeStore store;
  ForwarderRig fw(tls_config(broker.port(), "localhost"), store);
  fw->start();
  store.append(make_poll("meter", {"a"}, 1));
  ASSERT_TRUE(sub->wait_for(1, 20s)) << fw->stats().last_error;
}

TEST_F(MqttTlsTest, WrongCaFailsWithACertificateErrorLoggedOnce) {
  LogCapture log;
  Mosquitto broker(dir_.path(), broker_options());
  auto sub = subscribe(broker);
  config::Config c = tls_config(broker.port());
  c.mqtt.tls.ca_file = pki_->file("wrong-ca.crt");
  const std::string error = expect_refused(c, *sub, log);
  // OpenSSL's words for it: "self-signed certificate in certificate chain"
  // (the broker sends its CA along) or "unable to get local issuer certificate".
  EXPECT_THAT(error, HasSubstr("TLS handshake failed: certificate verify failed: "));
  const std::string text = log.text();
  EXPECT_THAT(text, HasSubstr("cannot connect to ssl://127.0.0.1:" + std::to_string(broker.port()) +
                              ": TLS handshake failed: "
                              "certificate verify failed"));
}

TEST_F(MqttTlsTest, HostNameMismatchFailsUnlessVerificationIsOff) {
  LogCapture log;
  Mosquitto broker(dir_.path(), broker_options("other-server"));
  auto sub = subscribe(broker);  // the subscriber does not check host names
  config::Config c = tls_config(broker.port());
  EXPECT_THAT(expect_refused(c, *sub, log),
              HasSubstr("certificate verify failed: IP address mismatch"));

  c.mqtt.tls.verify_hostname = false;  // the chain is still verified
  FakeStore store;
  ForwarderRig fw(c, store);
  fw->start();
  store.append(make_poll("meter", {"a"}, 1));
  ASSERT_TRUE(sub->wait_for(1, 20s)) << fw->stats().last_error;
}

TEST_F(MqttTlsTest, ClientCertificateWhenTheBrokerRequiresOne) {
  LogCapture log;
  BrokerOptions options = broker_options();
  options.require_certificate = true;
  Mosquitto broker(dir_.path(), options);
  config::Config c = tls_config(broker.port());
  c.mqtt.tls.cert_file = pki_->file("client.crt");
  c.mqtt.tls.key_file = pki_->file("client.key");
  FakeStore store;
  ForwarderRig fw(c, store);
  fw->start();
  store.append(make_poll("meter", {"a"}, 1));
  ASSERT_TRUE(wait_until([&] { return store.stats().rows == 0; }, 20s))
      << fw->stats().last_error << "\n"
      << broker.log();

  config::Config without = tls_config(broker.port());
  FakeStore store2;
  ForwarderRig fw2(without, store2);
  fw2->start();
  ASSERT_TRUE(wait_until([&] { return fw2->stats().connect_failures >= 2; }, 20s));
  EXPECT_THAT(fw2->stats().last_error, HasSubstr("certificate"));
  std::printf("[ info ] last_error: %s\n", fw2->stats().last_error.c_str());
}

TEST_F(MqttTlsTest, WrongPasswordIsNamedAsSuch) {
  LogCapture log;
  Mosquitto broker(dir_.path(), broker_options());
  auto sub = subscribe(broker);
  config::Config c = tls_config(broker.port());
  c.mqtt.password_file = pki_->wrong_password_file;
  const std::string error = expect_refused(c, *sub, log);
  EXPECT_THAT(error, HasSubstr("the broker refused the connection: not authorized"));
  EXPECT_THAT(error, HasSubstr("check mqtt.username and the password"));
  EXPECT_THAT(log.text(), Not(HasSubstr("not-it")));

  c.mqtt.protocol = 5;
  const std::string error5 = expect_refused(c, *sub, log);
  EXPECT_THAT(error5, HasSubstr("the broker refused the connection"));
  EXPECT_THAT(error5, ::testing::AnyOf(HasSubstr("Not authorized"),
                                       HasSubstr("Bad user name or password")));
}

TEST_F(MqttTlsTest, PlainTextToTheTlsListenerFails) {
  LogCapture log;
  Mosquitto broker(dir_.path(), broker_options());
  auto sub = subscribe(broker);
  config::Config c = tls_config(broker.port());
  c.mqtt.broker = "tcp://127.0.0.1:" + std::to_string(broker.port());
  c.mqtt.tls_enabled = false;
  EXPECT_THAT(expect_refused(c, *sub, log), HasSubstr("if it expects TLS, use mqtts://"));
}

}  // namespace
}  // namespace fieldgate::testing
