// Test support: a real mosquitto broker on a free loopback port, started and
// ended by the test (by its own pid), and a real subscriber.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace fieldgate::testing {

struct BrokerOptions {
  int port = 0;  // 0: pick a free one (kept across restart())
  // TLS: when set, the listener requires TLS with these files (PEM).
  std::string cafile;
  std::string certfile;
  std::string keyfile;
  bool require_certificate = false;  // clients must present a certificate signed by cafile
  // When set, anonymous clients are refused; the password file is made with
  // mosquitto_passwd for this user.
  std::string username;
  std::string password;
  /// Broker persistence on (in the scratch dir), so a persistent-session
  /// subscriber's queued messages survive kill()/restart(). Off by default.
  bool persistent = false;
  /// Appended to the broker's configuration as it is (e.g. "message_size_limit 2048\n").
  std::string extra_config;
};

class Mosquitto {
 public:
  /// Writes a config into `dir`, starts `mosquitto -c`, waits until it accepts
  /// connections. Throws std::runtime_error (with the broker's log) on failure.
  Mosquitto(const std::filesystem::path& dir, BrokerOptions options = {});
  ~Mosquitto();

  [[nodiscard]] int port() const noexcept { return options_.port; }
  /// "tcp://127.0.0.1:PORT" or "ssl://127.0.0.1:PORT" with TLS.
  [[nodiscard]] std::string uri() const;

  /// SIGKILL: the broker vanishes without a goodbye and, unless
  /// options.persistent, forgets every session and queued message. With
  /// options.persistent it first waits (at most 4 s) for the broker's next
  /// autosave, so sessions and subscriptions made before kill() survive;
  /// messages that arrived after that save may be lost, as on a real crash.
  void kill();
  /// Starts it again on the same port.
  void restart();
  [[nodiscard]] std::string log() const;

 private:
  void start();
  std::filesystem::path dir_;
  BrokerOptions options_;
  std::unique_ptr<ChildProcess> process_;
  std::string old_logs_;  // of the processes before a kill()
};

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retained = false;
};

/// A subscriber on the broker (Paho C++ client, independent of the code under
/// test's session), collecting messages on `filter` at `qos`. It uses a
/// persistent session (fixed client id, clean session off) and reconnects and
/// resubscribes by itself, so with a `persistent` broker it misses nothing
/// across a broker restart.
class Subscriber {
 public:
  Subscriber(const std::string& uri, const std::string& filter, int qos,
             const std::string& username = {}, const std::string& password = {},
             const std::string& cafile = {});
  ~Subscriber();

  /// Waits until the subscriber is connected and subscribed (false on timeout).
  bool wait_connected(std::chrono::milliseconds timeout);
  /// Waits until at least `n` messages arrived (false on timeout).
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout);
  [[nodiscard]] std::vector<ReceivedMessage> messages() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// A publisher on the broker (Paho C++, MQTT 5 so messages can carry an
/// expiry), connected for its whole life: commands in tests.
class Publisher {
 public:
  explicit Publisher(const std::string& uri);
  ~Publisher();
  /// Publishes and waits for the broker's acknowledgement; `expiry_seconds` >= 0
  /// sets the Message Expiry Interval. Throws std::runtime_error on failure.
  void publish(const std::string& topic, const std::string& payload, int qos = 1,
               bool retained = false, int expiry_seconds = -1);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fieldgate::testing
