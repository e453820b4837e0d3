// Private to bridge/: the libmosquitto client of mosquitto_client.hpp —
// its class, shared by mosquitto_client.cpp (the session: handle, connect,
// network thread, disconnect) and mosquitto_requests.cpp (publish,
// subscribe, and libmosquitto's callbacks turned into completions). One
// handle in threaded mode and a network thread of our own, busy only while a
// session is open: libmosquitto's own loop thread (mosquitto_loop_start)
// reconnects by itself, which the forwarder must decide (back-off, resend
// from the store). It runs mosquitto_loop() while connecting and for TLS,
// and for a connected plain-TCP session its own loop (loop_once(): a poll,
// woken once per burst of requests, not per message). Packet ids map to the
// caller's (sink, tag) under a lock held across each request, as an
// acknowledgement may arrive on the network thread before the request
// returns.
#pragma once

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bridge/mqtt_client.hpp"
#include "core/unique_fd.hpp"

namespace fieldgate::bridge::detail {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct HandleFree {
  void operator()(mosquitto* handle) const noexcept { mosquitto_destroy(handle); }
};
using Handle = std::unique_ptr<mosquitto, HandleFree>;

struct PropertiesFree {
  void operator()(mosquitto_property* props) const noexcept { mosquitto_property_free_all(&props); }
};
using Properties = std::unique_ptr<mosquitto_property, PropertiesFree>;

/// libmosquitto's error `rc` in words (errno's text for MOSQ_ERR_ERRNO).
std::string mosquitto_error_text(int rc);

// Runs `f` for a callback or sink on the network thread: nothing may unwind
// into libmosquitto.
template <typename F>
void guarded(const char* what, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::error("mqtt: {}: {}", what, e.what());
  } catch (...) {
    spdlog::error("mqtt: {}", what);
  }
}

/// The seam on libmosquitto 2.0 (mosquitto_client.hpp).
class MosquittoClient final : public MqttClient {
 public:
  /// Throws std::runtime_error when libmosquitto cannot make a handle.
  MosquittoClient(const MqttConnectOptions& options, MqttCallbacks callbacks);
  ~MosquittoClient() override;

  MosquittoClient(const MosquittoClient&) = delete;
  MosquittoClient& operator=(const MosquittoClient&) = delete;

  ConnectResult connect(const MqttConnectOptions& options, milliseconds wait,
                        const std::function<bool()>& give_up) override;
  MqttStatus publish(SessionMessage message, CompletionSink* sink, CompletionTag tag) override;
  bool publish_and_wait(SessionMessage message, milliseconds wait) override;
  MqttStatus subscribe(const std::vector<std::string>& topics, int qos, CompletionSink* sink,
                       CompletionTag tag) override;
  MqttStatus unsubscribe(const std::vector<std::string>& topics, CompletionSink* sink,
                         CompletionTag tag) override;
  void disconnect(milliseconds quiesce) override;
  void begin_burst() override { in_burst_ = true; }
  void end_burst() override;
  [[nodiscard]] bool prefers_small_window() const noexcept override { return true; }
  [[nodiscard]] bool is_connected() const override {
    std::lock_guard lock(mutex_);
    return phase_ == Phase::kConnected;
  }

 private:
  // kIdle: no socket in use, the network thread waits. kStarting: it is
  // opening the socket. kConnecting: CONNECT sent. kConnected: CONNACK 0.
  enum class Phase { kIdle, kStarting, kConnecting, kConnected };
  struct Pending {
    CompletionSink* sink = nullptr;
    CompletionTag tag = 0;
    enum class Kind { kPublish, kSubscribe, kUnsubscribe } kind = Kind::kPublish;
    std::size_t topics = 0;
    std::shared_ptr<CompletionSink> keep;  // publish_and_wait()'s sink, alive until reported
  };

  void make_handle(const MqttConnectOptions& options);
  void configure(const MqttConnectOptions& options);
  int start_connect();
  void run() noexcept;
  int loop_once() noexcept;
  void wake_network() noexcept;
  void end_session(std::unique_lock<std::mutex>& lock, int rc);
  void request_close(std::unique_lock<std::mutex>& lock);
  bool wait_idle(std::unique_lock<std::mutex>& lock, Clock::time_point deadline);
  MqttStatus request(std::vector<std::string> topics, int qos, Pending::Kind kind,
                     CompletionSink* sink, CompletionTag tag);
  void fail_pending(const std::string& why) noexcept;
  std::optional<Pending> take_pending(int mid);

  static void on_connect(mosquitto* h, void* self, int rc, int flags,
                         const mosquitto_property* props) noexcept;
  static void on_disconnect(mosquitto* h, void* self, int rc,
                            const mosquitto_property* props) noexcept;
  static void on_publish(mosquitto* h, void* self, int mid, int reason,
                         const mosquitto_property* props) noexcept;
  static void on_subscribe(mosquitto* h, void* self, int mid, int count, const int* granted,
                           const mosquitto_property* props) noexcept;
  static void on_unsubscribe(mosquitto* h, void* self, int mid,
                             const mosquitto_property* props) noexcept;
  static void on_message(mosquitto* h, void* self, const mosquitto_message* message,
                         const mosquitto_property* props) noexcept;

  MqttCallbacks callbacks_;
  Handle handle_;
  bool clean_session_ = true;           // the handle's: libmosquitto fixes it when making one
  MqttConnectOptions connect_options_;  // those of the connect in progress (network thread)

  mutable std::mutex mutex_;  // guards the session state below
  std::condition_variable cv_;
  Phase phase_ = Phase::kIdle;
  bool close_requested_ = false;      // disconnect() or a connect given up
  bool disconnect_sent_ = false;      // mosquitto_disconnect called for this session
  Clock::time_point close_deadline_;  // then the network thread stops waiting for the close
  bool quit_ = false;
  bool session_present_ = false;
  std::string connect_error_;  // a refused CONNACK or the transport's failure
  int disconnect_rc_ = 0;      // on_disconnect's, for the cause of a lost session

  std::mutex pending_mutex_;  // held across requests; see the top of the file
  std::unordered_map<int, Pending> pending_;

  // Waking the network thread (loop_once()). libmosquitto wakes its loop
  // with a byte on a socket pair for every packet queued, and its loop reads
  // one byte per round: a round (select and read) per message. Our own loop
  // of a connected plain-TCP session polls the socket and this eventfd, and a
  // request writes to it only when the loop is asleep: one wake-up per burst.
  UniqueFd wake_fd_;
  std::atomic<bool> sleeping_{false};  // loop_once() is in poll()
  // Requesting thread only: inside begin_burst()/end_burst() a publish does
  // not wake the loop; end_burst() does, once, if one was queued.
  bool in_burst_ = false;
  bool queued_in_burst_ = false;

  std::thread thread_;  // last: started once everything it uses exists
};

}  // namespace fieldgate::bridge::detail
