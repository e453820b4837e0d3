// The libmosquitto client's session (mosquitto_client_impl.hpp): the handle
// and its options, connect on the network thread with the caller asking
// give_up, the network thread itself, and the end of a session — asked for
// (disconnect) or not (connection_lost).
#include <fmt/format.h>
#include <mqtt_protocol.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "bridge/mosquitto_client.hpp"
#include "bridge/mosquitto_client_impl.hpp"
#include "bridge/mqtt_session.hpp"
#include "bridge/tls_probe.hpp"
#include "core/thread_name.hpp"

namespace fieldgate::bridge::detail {
namespace {

constexpr milliseconds kConnectPoll{100};
constexpr milliseconds kDisconnectWait{2000};
constexpr milliseconds kQuiescePoll{10};
// select() timeout of one mosquitto_loop(): requests wake it at once (its
// socket pair), so this only paces the keepalive checks.
constexpr int kLoopTimeoutMs = 1000;
// libmosquitto refuses a keepalive of 1 to 4 s.
constexpr int kMinKeepaliveSeconds = 5;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string disconnect_cause(int rc) {
  if (rc >= 0x80) return fmt::format("{} (reason code 0x{:02x})", mosquitto_reason_string(rc), rc);
  if (rc == 0) return "the broker closed the connection";
  return mosquitto_error_text(rc);
}

// Hands `what` to a callback or sink on the network thread: nothing may

}  // namespace

std::string mosquitto_error_text(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::system_category().message(errno);
  return mosquitto_strerror(rc);
}

// As mqtt_client.hpp says: errors of the message (retrying fails the same

MosquittoClient::MosquittoClient(const MqttConnectOptions& options, MqttCallbacks callbacks)
    : callbacks_(std::move(callbacks)), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!wake_fd_.valid()) {
    throw std::runtime_error(
        fmt::format("mqtt: cannot create the libmosquitto client's eventfd: {}",
                    std::system_category().message(errno)));
  }
  init_library();
  make_handle(options);
  thread_ = std::thread([this] {
    name_this_thread("mqtt-network");
    run();
  });
}

MosquittoClient::~MosquittoClient() {
  {
    std::unique_lock lock(mutex_);
    quit_ = true;
    request_close(lock);
    cv_.notify_all();
  }
  thread_.join();
}

void MosquittoClient::make_handle(const MqttConnectOptions& options) {
  // A session that survives reconnects (clean_session = false) and libmosquitto's
  // resend of its in-flight messages need the same handle; its clean flag is
  // fixed at creation.
  handle_.reset(mosquitto_new(options.client_id.c_str(), options.clean_session, this));
  if (!handle_) {
    throw std::runtime_error(fmt::format("mqtt: cannot create a libmosquitto client for {}: {}",
                                         broker_uri(options.host, options.port, options.tls),
                                         mosquitto_error_text(errno)));
  }
  clean_session_ = options.clean_session;
  mosquitto* h = handle_.get();
  mosquitto_threaded_set(h, true);  // requests come from the caller's thread
  mosquitto_connect_v5_callback_set(h, on_connect);
  mosquitto_disconnect_v5_callback_set(h, on_disconnect);
  mosquitto_publish_v5_callback_set(h, on_publish);
  mosquitto_subscribe_v5_callback_set(h, on_subscribe);
  mosquitto_unsubscribe_v5_callback_set(h, on_unsubscribe);
  mosquitto_message_v5_callback_set(h, on_message);
}

// The connect options libmosquitto keeps on the handle. Throws std::runtime_error.
void MosquittoClient::configure(const MqttConnectOptions& o) {
  mosquitto* h = handle_.get();
  const auto check = [](int rc, std::string_view what) {
    if (rc != MOSQ_ERR_SUCCESS)
      throw std::runtime_error(fmt::format("{}: {}", what, mosquitto_error_text(rc)));
  };
  check(mosquitto_int_option(h, MOSQ_OPT_PROTOCOL_VERSION,
                             o.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311),
        "protocol");
  // Above the forwarder's window: beyond it libmosquitto queues, never refuses.
  check(mosquitto_int_option(h, MOSQ_OPT_SEND_MAXIMUM, std::clamp(o.max_inflight, 1, 65535)),
        "max_inflight");
  check(mosquitto_username_pw_set(h, o.username.empty() ? nullptr : o.username.c_str(),
                                  o.password ? o.password->c_str() : nullptr),
        "credentials");
  if (o.will) {
    check(mosquitto_will_set(h, o.will->topic.c_str(), static_cast<int>(o.will->payload.size()),
                             o.will->payload.data(), o.will->qos, o.will->retain),
          "the Last Will");
  } else {
    mosquitto_will_clear(h);
  }
  if (o.tls) {
    const config::TlsConfig& tls = o.tls_files;
    const auto optional = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    // The system store (like Paho's default verify paths) when no CA file is
    // named; mosquitto_tls_set wants a CA file or directory all the same.
    if (tls.ca_file.empty()) check(mosquitto_int_option(h, MOSQ_OPT_TLS_USE_OS_CERTS, 1), "TLS");
    check(mosquitto_tls_set(h, optional(tls.ca_file),
                            tls.ca_file.empty() ? X509_get_default_cert_dir() : nullptr,
                            optional(tls.cert_file), optional(tls.key_file), nullptr),
          "TLS files");
    check(mosquitto_tls_opts_set(h, 1, nullptr, nullptr), "TLS");  // the chain is always verified
    check(mosquitto_tls_insecure_set(h, !tls.verify_hostname), "TLS");
  }
}

// On the network thread: opens the socket and sends CONNECT without waiting
// (connect() waits, asking give_up). A libmosquitto rc.
int MosquittoClient::start_connect() {
  const MqttConnectOptions& o = connect_options_;
  mosquitto* h = handle_.get();
  const int keepalive =
      o.keepalive.count() == 0
          ? 0
          : std::max(static_cast<int>(std::min<std::int64_t>(o.keepalive.count(), 65535)),
                     kMinKeepaliveSeconds);
  if (o.protocol == 5) {
    mosquitto_property* raw = nullptr;
    if (o.session_expiry) {
      mosquitto_property_add_int32(&raw, MQTT_PROP_SESSION_EXPIRY_INTERVAL, *o.session_expiry);
    }
    if (o.maximum_packet_size) {
      mosquitto_property_add_int32(&raw, MQTT_PROP_MAXIMUM_PACKET_SIZE, *o.maximum_packet_size);
    }
    const Properties props(raw);
    // libmosquitto 2.0 has no asynchronous connect with properties; its
    // connect_bind_v5 stores them on the handle before it checks the port,
    // and the asynchronous connect sends what the handle holds. Port -1:
    // store them, connect nothing.
    const int rc =
        mosquitto_connect_bind_v5(h, o.host.c_str(), -1, keepalive, nullptr, props.get());
    if (rc != MOSQ_ERR_INVAL) return rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_UNKNOWN : rc;
  }
  const int rc = mosquitto_connect_bind_async(h, o.host.c_str(), o.port, keepalive, nullptr);
  return rc == MOSQ_ERR_CONN_PENDING ? MOSQ_ERR_SUCCESS : rc;
}

ConnectResult MosquittoClient::connect(const MqttConnectOptions& options, milliseconds wait,
                                       const std::function<bool()>& give_up) {
  ConnectResult result;
  std::unique_lock lock(mutex_);
  if (!wait_idle(lock, Clock::now() + kDisconnectWait)) {
    result.error = "the previous connection did not close";
    return result;
  }
  try {
    if (options.clean_session != clean_session_) {
      lock.unlock();
      fail_pending("the session ended");
      make_handle(options);
      lock.lock();
    }
    configure(options);
  } catch (const std::exception& e) {
    result.error = fmt::format("cannot set up the connection: {}", e.what());
    return result;
  }
  connect_options_ = options;
  connect_error_.clear();
  session_present_ = false;
  close_requested_ = false;
  disconnect_rc_ = 0;
  phase_ = Phase::kStarting;
  cv_.notify_all();
  const auto deadline = Clock::now() + std::min(wait, options.connect_timeout);
  while (phase_ == Phase::kStarting || phase_ == Phase::kConnecting) {
    cv_.wait_for(lock, kConnectPoll);
    if (phase_ != Phase::kStarting && phase_ != Phase::kConnecting) break;
    bool cancel = false;
    if (give_up) {
      lock.unlock();  // give_up may take the forwarder's lock
      cancel = give_up();
      lock.lock();
    }
    if (cancel || Clock::now() > deadline) {
      request_close(lock);
      if (cancel) {
        result.cancelled = true;
        return result;
      }
      lock.unlock();
      result.error =
          probe_connection(options.host, options.port, options.tls ? &options.tls_files : nullptr,
                           std::min(options.connect_timeout, milliseconds{5000}));
      if (result.error.empty()) {
        result.error = fmt::format("no CONNACK within {}", format_delay(options.connect_timeout));
      }
      return result;
    }
  }
  if (phase_ == Phase::kConnected) {
    result.connected = true;
    result.session_present = session_present_;
    return result;
  }
  const std::string error = connect_error_;
  lock.unlock();
  // A refused CONNACK is said in words already; a transport failure is
  // refined by probing the broker (refused, unreachable, TLS: why).
  result.error =
      error.rfind("the broker refused", 0) == 0 ? error : explain_transport_failure(error, options);
  return result;
}

void MosquittoClient::run() noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return quit_ || phase_ != Phase::kIdle; });
    if (phase_ == Phase::kIdle) return;  // quit
    if (phase_ == Phase::kStarting) {
      disconnect_sent_ = false;
      lock.unlock();
      const int rc = start_connect();
      lock.lock();
      if (rc != MOSQ_ERR_SUCCESS) {
        end_session(lock, rc);
        continue;
      }
      phase_ = Phase::kConnecting;
    }
    if (close_requested_ && !disconnect_sent_) {  // asked while the socket was being opened
      disconnect_sent_ = true;
      mosquitto_disconnect_v5(handle_.get(), 0, nullptr);
    }
    // Connecting (and TLS, whose handshake and renegotiation libmosquitto's
    // own loop knows best) runs mosquitto_loop(); a connected plain-TCP
    // session our own (loop_once()).
    const bool own_loop = phase_ == Phase::kConnected && !connect_options_.tls;
    lock.unlock();
    int rc = own_loop ? loop_once() : mosquitto_loop(handle_.get(), kLoopTimeoutMs, 1);
    lock.lock();
    const bool closed = mosquitto_socket(handle_.get()) < 0;
    if (rc == MOSQ_ERR_SUCCESS && !closed) {
      if (!close_requested_ || Clock::now() < close_deadline_) continue;
      rc = MOSQ_ERR_CONN_LOST;  // DISCONNECT could not be written: left to the next connect
    }
    if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN) rc = disconnect_rc_;
    end_session(lock, rc);
  }
}

// One round of the network loop of a connected plain-TCP session, on the
// network thread: what mosquitto_loop() does (read, write, keepalive), but
// waiting on the socket and wake_fd_ instead of libmosquitto's socket pair,
// whose byte per queued packet made a select() and a read() per message
// here. The pair is never read then: once full, libmosquitto's writes to it
// fail at once (EAGAIN) and wake nobody. A request wakes this loop through
// wake_network(), only while it sleeps. A libmosquitto rc.
int MosquittoClient::loop_once() noexcept {
  mosquitto* h = handle_.get();
  const int sock = mosquitto_socket(h);
  if (sock < 0) return MOSQ_ERR_NO_CONN;
  // Asleep first, then look for queued packets: a request queued after the
  // look finds sleeping_ set and wakes the poll (both sequentially consistent).
  sleeping_.store(true);
  std::array<pollfd, 2> fds{pollfd{sock, POLLIN, 0}, pollfd{wake_fd_.get(), POLLIN, 0}};
  if (mosquitto_want_write(h)) fds[0].events |= POLLOUT;
  const int n = ::poll(fds.data(), fds.size(), kLoopTimeoutMs);
  sleeping_.store(false);
  if (n < 0) return errno == EINTR ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ERRNO;
  if ((fds[1].revents & POLLIN) != 0) {
    eventfd_t count = 0;
    (void)::eventfd_read(wake_fd_.get(), &count);
  }
  if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
    const int rc = mosquitto_loop_read(h, 1);
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(h) < 0) return rc;
  }
  if (mosquitto_want_write(h)) {
    const int rc = mosquitto_loop_write(h, 1);
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(h) < 0) return rc;
  }
  return mosquitto_loop_misc(h);
}

// After a request queued a packet: wakes loop_once() if it sleeps (one
// eventfd write per burst of requests, none while it runs).
void MosquittoClient::wake_network() noexcept {
  if (sleeping_.exchange(false)) (void)::eventfd_write(wake_fd_.get(), 1);
}

void MosquittoClient::end_burst() {
  in_burst_ = false;
  if (std::exchange(queued_in_burst_, false)) wake_network();
}

// The network thread, once its socket is closed (or given up): back to
// kIdle, telling connect() or the connection_lost callback why.
void MosquittoClient::end_session(std::unique_lock<std::mutex>& lock, int rc) {
  const Phase phase = std::exchange(phase_, Phase::kIdle);
  const bool asked = close_requested_ || quit_;
  if (phase != Phase::kConnected && connect_error_.empty()) {
    connect_error_ = rc == MOSQ_ERR_SUCCESS ? "the broker closed the connection before CONNACK"
                                            : mosquitto_error_text(rc);
  }
  cv_.notify_all();
  if (phase != Phase::kConnected || quit_) return;
  const bool keep = !clean_session_;  // libmosquitto resends them when the session resumes
  lock.unlock();
  if (!asked && callbacks_.connection_lost) {
    guarded("connection lost", [&] { callbacks_.connection_lost(disconnect_cause(rc)); });
  }
  if (!keep) fail_pending(asked ? "disconnected" : "connection lost");
  lock.lock();
}

// With mutex_ held. Asks the network thread to end the session (or the
// attempt); from this thread only while libmosquitto is not inside a connect.
void MosquittoClient::request_close(std::unique_lock<std::mutex>& lock) {
  (void)lock;
  if (phase_ == Phase::kIdle || close_requested_) return;
  close_requested_ = true;
  close_deadline_ = Clock::now() + kDisconnectWait;
  // mosquitto_disconnect wakes the network thread's select(); while it is
  // opening the socket it sees the request itself and sends it then.
  if (phase_ != Phase::kStarting) {
    disconnect_sent_ = true;
    mosquitto_disconnect_v5(handle_.get(), 0, nullptr);
    wake_network();
  }
  cv_.notify_all();
}

bool MosquittoClient::wait_idle(std::unique_lock<std::mutex>& lock, Clock::time_point deadline) {
  return cv_.wait_until(lock, deadline, [this] { return phase_ == Phase::kIdle; });
}

void MosquittoClient::disconnect(milliseconds quiesce) {
  const auto start = Clock::now();
  // What is in flight may still be confirmed, for up to `quiesce`.
  while (is_connected() && Clock::now() - start < quiesce) {
    {
      std::lock_guard lock(pending_mutex_);
      if (pending_.empty()) break;
    }
    std::this_thread::sleep_for(kQuiescePoll);
  }
  std::unique_lock lock(mutex_);
  request_close(lock);
  wait_idle(lock, start + std::max(quiesce, kDisconnectWait));
}

std::unique_ptr<MqttClient> make_mosquitto_client(const MqttConnectOptions& options,
                                                  MqttCallbacks callbacks) {
  return std::make_unique<MosquittoClient>(options, std::move(callbacks));
}

}  // namespace fieldgate::bridge::detail
