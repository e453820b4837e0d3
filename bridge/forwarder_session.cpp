// The forwarder's session: the MQTT client, connect with back-off and
// jitter (cut short when the broker's port opens again), a stale session
// cleared, the session hooks told of each connect and clean stop, and a lost
// session's window given back (design notes at the top of forwarder_impl.hpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge/forwarder_impl.hpp"
#include "bridge/port_probe.hpp"

namespace fieldgate::bridge {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kConnectGrace{5000};    // beyond the client's own connect timeout
constexpr milliseconds kDisconnectWait{2000};  // a clean stop lets in-flight work finish this long
// clean_session = false: after this many sessions in a row that ended before
// anything was confirmed, the forwarder gives up on the session (see
// connect_session()).
constexpr int kMaxBarrenSessions = 2;

}  // namespace

void Forwarder::Impl::new_client() {
  client_.reset();  // destroyed first: its callbacks stop before the next one's start
  MqttCallbacks callbacks;
  callbacks.connection_lost = [this](const std::string& cause) {
    std::lock_guard lock(mutex_);
    events_.lost = true;
    events_.lost_cause = cause.empty() ? "connection lost" : "connection lost: " + cause;
    cv_.notify_all();
  };
  // The first hook that takes it (the command channel, last, takes any).
  callbacks.message_arrived = [this](const IncomingMessage& message) {
    for (auto& hook : hooks_) {
      if (hook->on_message(message)) return;
    }
  };
  client_ = detail::make_mqtt_client(mqtt_, connect_options_, std::move(callbacks));
  window_.size_by_link(client_->prefers_small_window());
}

// Disconnected → Connecting → Connected (true) or back to Disconnected after
// the back-off delay (false).
bool Forwarder::Impl::connect_session() {
  set_state(State::kConnecting);
  {
    std::lock_guard lock(mutex_);
    events_.lost = false;    // any loss recorded belongs to the previous session
    events_.failed.clear();  // refusals stay: they concern messages, not the session
  }
  // A Paho handle that already connected once notices a new connection
  // only after its receive thread's current wait (about a second), and a
  // broker gone meanwhile holds the attempt for the whole connect timeout.
  // A fresh client has no such lag. With a clean session Paho drops its
  // state at connect anyway; without, its in-memory QoS 2 state must live
  // on (a fresh client could reuse a packet id the broker still holds).
  if (used_client_ && mqtt_.clean_session) new_client();
  if (!mqtt_.clean_session && barren_sessions_ >= kMaxBarrenSessions) {
    // A resumed session that breaks again before the broker
    // confirms anything: the client's session state is what the broker
    // refuses (seen after a connection reset in the middle of a packet:
    // "malformed packet" on every reconnect). Start over with a fresh
    // client and an emptied session; what was in flight goes out again.
    spdlog::warn(
        "mqtt: {} sessions in a row ended before anything was confirmed; starting a clean "
        "session (unconfirmed messages are sent again, duplicates possible)",
        barren_sessions_);
    new_client();
    stale_session_cleared_ = false;
    window_.retire();
    pump_.rewind();
    barren_sessions_ = 0;
  }
  used_client_ = true;
  std::string error;
  bool session_present = false;
  // Clearing a stale session is one more connect before this one.
  heartbeat_.expect_within((mqtt_.connect_timeout + kConnectGrace) * 2);
  if (!mqtt_.clean_session && !stale_session_cleared_) error = clear_stale_session();
  if (error.empty()) {
    // The will may change per connect (Sparkplug's bdSeq): asked each time.
    for (auto& hook : hooks_) hook->before_connect();
    connect_options_.will.reset();
    for (const auto& hook : hooks_) {
      if (auto will = hook->will()) {
        connect_options_.will = std::move(will);
        break;
      }
    }
    const ConnectResult result = client_->connect(
        connect_options_, mqtt_.connect_timeout + kConnectGrace, [this] { return stopping(); });
    if (result.cancelled) return false;
    error = result.error;
    session_present = result.session_present;
  }
  if (!error.empty()) {
    const auto delay = backoff_delay(++consecutive_failures_);
    {
      std::lock_guard lock(stats_.mutex);
      ++stats_.stats.connect_failures;
      stats_.stats.last_error = error;
    }
    if (error != logged_error_) {
      spdlog::warn("mqtt: cannot connect to {}: {}; retrying in {}", session_.uri, error,
                   detail::format_delay(delay));
      logged_error_ = error;
    } else {
      spdlog::debug("mqtt: cannot connect to {}: {}; retrying in {}", session_.uri, error,
                    detail::format_delay(delay));
    }
    set_state(State::kDisconnected);
    wait_backoff(delay);
    return false;
  }
  return on_connected(session_present);
}

// clean_session = false, first connect of this process: the broker may
// still hold the session of the previous process, with QoS 2 packet ids
// waiting for a PUBREL that this fresh client knows nothing of. A new
// PUBLISH reusing such an id would be taken for a repeat and dropped — a
// lost reading. One clean connect and disconnect empties that session; what
// the previous process had in flight is unconfirmed in the store and goes
// out again (a duplicate at worst). Returns why the broker could not be
// reached, like the connect that follows, or "".
std::string Forwarder::Impl::clear_stale_session() {
  auto options = connect_options_;
  options.clean_session = true;  // MQTT 5: Clean Start
  const ConnectResult result = client_->connect(options, mqtt_.connect_timeout + kConnectGrace, {});
  if (!result.connected) return result.error;
  client_->disconnect(milliseconds(0));
  stale_session_cleared_ = true;
  return {};
}

// Connecting → Connected, with the birth message; false (back to
// Disconnected after a delay) when even that cannot be published.
bool Forwarder::Impl::on_connected(bool session_present) {
  window_.start_session();
  if (!mqtt_.clean_session && session_present) {
    // Invariant 5: the broker kept the session, and the client sends what was in
    // flight again under the same packet ids (the broker drops QoS 2
    // repeats). Publishing it again ourselves would duplicate it and could
    // exceed the broker's QoS 2 quota on every reconnect.
    // Newer readings wait until those are confirmed: per topic order.
    window_.mark_resumed();
    if (!window_.empty()) {
      spdlog::info("mqtt: session resumed; {} unconfirmed messages are completed by the client",
                   window_.size());
    }
  } else {
    window_.retire();
    pump_.rewind();
  }
  std::uint64_t reconnects = 0;
  {
    std::lock_guard lock(stats_.mutex);
    if (ever_connected_) ++stats_.stats.reconnects;
    reconnects = stats_.stats.reconnects;
    stats_.stats.last_error.clear();
  }
  // A reconnect says how long the uplink was down and which one it is: two
  // reconnects within the log's repeat window would otherwise be the same
  // line, and the second would be held back while its "session ended" shows.
  std::string after;
  if (consecutive_failures_ > 0) {
    after = fmt::format(" after {} failed attempts", consecutive_failures_);
  }
  if (ever_connected_) {
    after += fmt::format("; reconnect {} since start, {} without a session", reconnects,
                         detail::format_delay(std::chrono::duration_cast<milliseconds>(
                             std::chrono::steady_clock::now() - lost_at_)));
  }
  spdlog::info("mqtt: connected to {} as {} ({}){}", session_.uri, session_.client_id,
               detail::protocol_name(mqtt_.protocol), after);
  ever_connected_ = true;
  consecutive_failures_ = 0;
  probe_cut_wait_ = false;
  logged_error_.clear();
  set_state(State::kConnected);
  pump_.start_session();
  for (auto& hook : hooks_) {
    if (auto error = hook->on_connect(*client_); !error.empty()) {
      lose_session(error);
      sleep_unless_stopped(backoff_delay(1));
      return false;
    }
  }
  return true;
}

// Connected → Disconnected: everything in flight will be sent again.
void Forwarder::Impl::lose_session(const std::string& reason) {
  const std::size_t unconfirmed = window_.size();
  barren_sessions_ = window_.confirmed_in_session() || unconfirmed == 0 ? 0 : barren_sessions_ + 1;
  // Kept for a session the broker may resume (clean_session = false);
  // on_connected() decides.
  if (mqtt_.clean_session) {
    window_.note_suspect();
    window_.retire();
    pump_.rewind();
  }
  {
    std::lock_guard lock(stats_.mutex);
    stats_.stats.last_error = to_valid_utf8(reason);  // it goes into JSON (the stats message)
  }
  spdlog::warn("mqtt: session with {} ended: {}; {} unconfirmed messages will be sent again",
               session_.uri, to_valid_utf8(reason), unconfirmed);
  logged_error_.clear();
  lost_at_ = std::chrono::steady_clock::now();
  set_state(State::kDisconnected);
  client_->disconnect(milliseconds(0));  // nothing when already gone
}

// Draining → Stopped: the hooks' last words (the status hook's retained
// "offline"), then a clean disconnect (which tells the broker not to send
// the Last Will).
void Forwarder::Impl::close_session() {
  if (client_->is_connected()) {
    for (auto& hook : hooks_) hook->on_close(*client_);
    client_->disconnect(kDisconnectWait);
  }
  apply_events(take_events());  // confirmations that came in meanwhile
  spdlog::info(
      "mqtt: disconnected from {}; {} messages in flight were not confirmed and stay "
      "in the buffer",
      session_.uri, window_.size());
  window_.clear();
}

// Stopped while connecting: a connect the client completes anyway is closed cleanly.
void Forwarder::Impl::abandon_connect() {
  client_->disconnect(milliseconds(0));  // nothing when not connected after all
}

// Disconnected, after a failed connect: the back-off, cut short when the
// broker's port opens again (port_probe.hpp). When the connect that such a
// cut prompted failed too (a load balancer that takes TCP but not MQTT, a
// broker still starting), this round waits the plain back-off: at most one
// extra connect per back-off period, never a tight loop.
void Forwarder::Impl::wait_backoff(milliseconds delay) {
  heartbeat_.expect_within(delay);
  const detail::PortProbeTarget target{session_.host, session_.port, detail::kPortProbeInterval};
  const bool probe = !probe_cut_wait_;
  probe_cut_wait_ =
      detail::wait_for_broker(mutex_, cv_, stopping_, delay, probe ? &target : nullptr) ==
      detail::WaitEnd::kPortOpened;
  if (probe_cut_wait_) {
    spdlog::info("mqtt: {}:{} accepts connections again; connecting now", session_.host,
                 session_.port);
  }
}

milliseconds Forwarder::Impl::backoff_delay(int attempt) {
  return detail::reconnect_delay(mqtt_, attempt, std::uniform_real_distribution<double>()(rng_));
}

}  // namespace fieldgate::bridge
