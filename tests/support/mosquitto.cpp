#include "tests/support/mosquitto.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mqtt/async_client.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace fieldgate::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// mosquitto started as root drops to the "mosquitto" user, which cannot read
// the scratch directory's files; naming ourselves keeps it as it was started.
std::string current_user() {
  const passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

}  // namespace

Mosquitto::Mosquitto(const std::filesystem::path& dir, BrokerOptions options)
    : dir_(dir), options_(std::move(options)) {
  std::filesystem::create_directories(dir_);
  if (!options_.username.empty()) {
    const auto passwd = (dir_ / "mosquitto.passwd").string();
    const auto result = run_command(
        {"mosquitto_passwd", "-b", "-c", passwd, options_.username, options_.password}, dir_);
    if (result.exit_code != 0) {
      throw std::runtime_error("mosquitto_passwd failed: " + result.out + result.err);
    }
  }
  const bool pick_port = options_.port == 0;
  for (int attempt = 1;; ++attempt) {
    if (pick_port) options_.port = free_loopback_port();
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      // The free port may have been taken meanwhile: try another one.
      if (!pick_port || attempt == 3) throw;
    }
  }
}

Mosquitto::~Mosquitto() = default;

std::string Mosquitto::uri() const {
  return std::string(options_.certfile.empty() ? "tcp" : "ssl") +
         "://127.0.0.1:" + std::to_string(options_.port);
}

void Mosquitto::start() {
  const auto conf = dir_ / "mosquitto.conf";
  {
    std::ofstream out(conf);
    out << "listener " << options_.port << " 127.0.0.1\n";
    if (!options_.certfile.empty()) {
      out << "cafile " << options_.cafile << "\n"
          << "certfile " << options_.certfile << "\n"
          << "keyfile " << options_.keyfile << "\n"
          << "require_certificate " << (options_.require_certificate ? "true" : "false") << "\n";
    }
    if (options_.username.empty()) {
      out << "allow_anonymous true\n";
    } else {
      out << "allow_anonymous false\n"
          << "password_file " << (dir_ / "mosquitto.passwd").string() << "\n";
    }
    if (options_.persistent) {
      out << "persistence true\n"
          << "persistence_location " << dir_.string() << "/\n"
          << "persistence_file mosquitto.db\n"
          << "autosave_interval 1\n";
    } else {
      out << "persistence false\n";
    }
    // Tests push thousands of messages at subscribers that may be reconnecting.
    out << "max_queued_messages 0\n"
        << "user " << current_user() << "\n"
        << "log_dest stderr\n"
        << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        << options_.extra_config;
  }
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"mosquitto", "-c", conf.string()}, dir_);
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!accepts_connections(options_.port)) {
    if (!process_->running() || std::chrono::steady_clock::now() > deadline) {
      // How it ended (or that it still does not listen) and its log.
      const std::string text = old_logs_ + process_->report();
      process_.reset();
      throw std::runtime_error("mosquitto did not start on port " + std::to_string(options_.port) +
                               ": " + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Mosquitto::kill() {
  if (!process_) return;
  if (options_.persistent) {
    // Let the next autosave (mosquitto saves about every two seconds) capture
    // the sessions and subscriptions made so far; what arrives after it is
    // lost by the SIGKILL, as on a real crash.
    const auto db = dir_ / "mosquitto.db";
    std::error_code ec;
    const auto before = std::filesystem::last_write_time(db, ec);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (std::chrono::steady_clock::now() < deadline) {
      std::error_code now_ec;
      const auto now = std::filesystem::last_write_time(db, now_ec);
      if (!now_ec && (ec || now != before)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ::kill(process_->pid(), SIGKILL);
  process_->wait_exit(std::chrono::seconds(5));
  old_logs_ += process_->stdout_text() + process_->stderr_text();
  process_.reset();
}

void Mosquitto::restart() {
  kill();
  start();
}

std::string Mosquitto::log() const {
  if (!process_) return old_logs_;
  return old_logs_ + process_->stdout_text() + process_->stderr_text();
}

// Reconnects by itself (every 100 ms, not with Paho's automatic reconnect,
// which waits seconds), keeps its session (clean session off, fixed client
// id) and subscribes again on every connect, in case the broker forgot it.
class Subscriber::Impl {
 public:
  Impl(const std::string& uri, const std::string& filter, int qos, const std::string& username,
       const std::string& password, const std::string& cafile)
      : uri_(uri), client_id_(next_client_id()), filter_(filter), qos_(qos) {
    auto builder = mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_3_1_1)
                       .clean_session(false)
                       .keep_alive_interval(std::chrono::seconds(30))
                       .connect_timeout(std::chrono::seconds(5));
    if (!username.empty()) builder.user_name(username).password(password);
    if (!cafile.empty()) {
      builder.ssl(mqtt::ssl_options_builder().trust_store(cafile).finalize());
    }
    options_ = builder.finalize();
    std::string error;
    if (!connect_and_subscribe(&error)) {
      throw std::runtime_error("subscriber cannot connect to " + uri + ": " + error);
    }
    connected_ = true;
    reconnector_ = std::thread([this] { reconnect_loop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      cv_.notify_all();
    }
    reconnector_.join();
    try {
      if (client_->is_connected()) client_->disconnect(500)->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
      // The broker may be gone already.
    }
  }

  bool wait_connected(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return connected_; });
  }

  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
  }

  std::vector<ReceivedMessage> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  static std::string next_client_id() {
    static std::atomic<int> counter{0};
    return "fieldgate-test-sub-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  }

  // A fresh Paho client for each attempt: a used one notices a new connection
  // only about a second late (see bridge/forwarder_session.cpp). Same client id and
  // clean session off, so the broker's session carries on.
  bool connect_and_subscribe(std::string* error) {
    try {
      client_.reset();
      client_ = std::make_unique<mqtt::async_client>(
          uri_, client_id_, 0, static_cast<mqtt::iclient_persistence*>(nullptr));
      client_->set_message_callback([this](mqtt::const_message_ptr msg) {
        std::lock_guard lock(mutex_);
        messages_.push_back(ReceivedMessage{msg->get_topic(), msg->to_string(), msg->get_qos(),
                                            msg->is_retained()});
        cv_.notify_all();
      });
      client_->set_connection_lost_handler([this](const std::string&) {
        std::lock_guard lock(mutex_);
        connected_ = false;
        cv_.notify_all();
      });
      client_->connect(options_)->wait_for(std::chrono::seconds(10));
      if (!client_->is_connected()) {
        *error = "no CONNACK";
        return false;
      }
      client_->subscribe(filter_, qos_)->wait_for(std::chrono::seconds(10));
      return true;
    } catch (const mqtt::exception& e) {
      *error = e.what();
      return false;
    }
  }

  void reconnect_loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      cv_.wait(lock, [&] { return stop_ || !connected_; });
      if (stop_) break;
      lock.unlock();
      std::string error;
      const bool ok = connect_and_subscribe(&error);
      lock.lock();
      if (ok) {
        connected_ = true;
        cv_.notify_all();
      } else {
        cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stop_; });
      }
    }
  }

  std::string uri_;
  std::string client_id_;
  std::string filter_;
  int qos_;
  mqtt::connect_options options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ReceivedMessage> messages_;
  bool connected_ = false;
  bool stop_ = false;
  std::thread reconnector_;
  std::unique_ptr<mqtt::async_client> client_;  // last: its callbacks use the members above
};

Subscriber::Subscriber(const std::string& uri, const std::string& filter, int qos,
                       const std::string& username, const std::string& password,
                       const std::string& cafile)
    : impl_(std::make_unique<Impl>(uri, filter, qos, username, password, cafile)) {}

Subscriber::~Subscriber() = default;

bool Subscriber::wait_connected(std::chrono::milliseconds timeout) {
  return impl_->wait_connected(timeout);
}

bool Subscriber::wait_for(std::size_t n, std::chrono::milliseconds timeout) {
  return impl_->wait_for(n, timeout);
}

std::vector<ReceivedMessage> Subscriber::messages() const {
  return impl_->messages();
}

class Publisher::Impl {
 public:
  explicit Impl(const std::string& uri)
      : client_(uri, next_client_id(), mqtt::create_options(MQTTVERSION_5),
                static_cast<mqtt::iclient_persistence*>(nullptr)) {
    try {
      auto options = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).finalize();
      options.set_clean_start(true);
      client_.connect(options)->wait_for(std::chrono::seconds(10));
    } catch (const mqtt::exception& e) {
      throw std::runtime_error(std::string("publisher: ") + e.what());
    }
    if (!client_.is_connected()) throw std::runtime_error("publisher: no CONNACK from " + uri);
  }
  ~Impl() {
    try {
      client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
      // The broker may be gone already.
    }
  }

  void publish(const std::string& topic, const std::string& payload, int qos, bool retained,
               int expiry_seconds) {
    mqtt::properties props;
    if (expiry_seconds >= 0) {
      props.add(mqtt::property(mqtt::property::MESSAGE_EXPIRY_INTERVAL,
                               static_cast<std::uint32_t>(expiry_seconds)));
    }
    auto message = mqtt::message_ptr_builder()
                       .topic(topic)
                       .payload(payload)
                       .qos(qos)
                       .retained(retained)
                       .properties(props)
                       .finalize();
    try {
      client_.publish(message)->wait_for(std::chrono::seconds(10));
    } catch (const mqtt::exception& e) {
      throw std::runtime_error(std::string("publisher: ") + e.what());
    }
  }

 private:
  static std::string next_client_id() {
    static std::atomic<int> counter{0};
    return "fieldgate-test-pub-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  }
  mqtt::async_client client_;
};

Publisher::Publisher(const std::string& uri) : impl_(std::make_unique<Impl>(uri)) {}
Publisher::~Publisher() = default;
void Publisher::publish(const std::string& topic, const std::string& payload, int qos,
                        bool retained, int expiry_seconds) {
  impl_->publish(topic, payload, qos, retained, expiry_seconds);
}

}  // namespace fieldgate::testing
