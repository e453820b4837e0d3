// The forwarder: store → MQTT broker, deleting a reading only once the broker
// confirmed it. The design notes (invariants, states) are at the top of
// forwarder_impl.hpp; this file holds the forwarder thread and the public API.
#include "bridge/forwarder.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "bridge/forwarder_impl.hpp"
#include "bridge/status_hook.hpp"
#include "core/thread_name.hpp"

namespace fieldgate::bridge {
namespace {

using std::chrono::milliseconds;

// Without a wake() (no commit listener), the store is looked at this often.
constexpr milliseconds kIdleRecheck{1000};
constexpr milliseconds kConnectGrace{5000};  // beyond Paho's own connect timeout

// MQTT 5 reason codes in a PUBACK/PUBREC that refuse this one message for
// good; 0x91 (packet id in use) and 0x97 (quota exceeded) pass, and end the
// session as any other failure does. (0: the client had no reason code.)
bool refuses_for_good(int reason_code) {
  return reason_code >= 0x80 && reason_code != 0x91 && reason_code != 0x97;
}

// The first Last Will a hook contributes.
std::optional<SessionMessage> will_of(const std::vector<std::unique_ptr<SessionHook>>& hooks) {
  for (const auto& hook : hooks) {
    if (auto will = hook->will()) return will;
  }
  return std::nullopt;
}

// A format the configuration names without an encoder is a start-up error,
// not a dead letter per reading; so is one the configuration was loaded with
// under another grouping than its encoder's (a catalog from other encoders).
void check_encoders(const TopicMap& topics, const EncoderRegistry& encoders) {
  for (const auto& format : topics.payload_formats()) {
    const PayloadEncoder* encoder = encoders.find(format.name);
    if (encoder == nullptr) {
      throw std::runtime_error(
          fmt::format("mqtt: no encoder for payload format \"{}\"", format.name));
    }
    if (encoder->per_device() != format.per_device) {
      throw std::runtime_error(fmt::format(
          "mqtt: payload format \"{}\" was loaded as one message per {}, its encoder sends one "
          "per {}",
          format.name, format.per_device ? "device poll" : "reading",
          encoder->per_device() ? "device poll" : "reading"));
    }
  }
}

}  // namespace

Forwarder::Impl::Impl(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway,
                      Store& store, TopicMap topics, ForwarderParts parts)
    : mqtt_(mqtt),
      session_(detail::make_session_settings(mqtt, gateway)),
      stats_topic_(session_.status_topic + "/stats"),
      window_(store, stats_, static_cast<std::size_t>(mqtt_.max_inflight)),
      pump_(mqtt_, store, std::move(topics), std::move(parts.encoders), window_, stats_),
      rng_(std::random_device{}()) {
  // The session hooks, in order (invariant 9); a built-in hook is one line here.
  if (parts.status_hook) hooks_.push_back(detail::make_status_hook(session_.status_topic));
  for (auto& hook : parts.hooks) hooks_.push_back(std::move(hook));
  auto commands = std::make_unique<detail::CommandChannel>([this] { wake(); });
  commands_ = commands.get();
  hooks_.push_back(std::move(commands));

  connect_options_ = detail::make_connect_options(mqtt_, session_, will_of(hooks_));
  new_client();  // here, so that an address the client rejects fails the constructor
}

void Forwarder::Impl::start() {
  if (thread_.joinable()) return;
  spdlog::info("mqtt: forwarding to {}", detail::describe_session(mqtt_, session_));
  heartbeat_.expect_within(mqtt_.connect_timeout + kConnectGrace);
  thread_ = std::thread([this] {
    name_this_thread("forwarder");
    run();
  });
}

void Forwarder::Impl::stop(milliseconds drain) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) drain_ = drain;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Forwarder::Impl::wake() {
  std::lock_guard lock(mutex_);
  events_.woken = true;
  cv_.notify_all();
}

// Handed to the forwarder thread: only that thread touches the client,
// which it may replace between connects.
void Forwarder::Impl::publish_stats(const std::string& payload) {
  if (!stats().connected) return;
  std::lock_guard lock(mutex_);
  events_.stats_payload = payload;  // a newer one replaces one not sent yet
  cv_.notify_all();
}

ForwarderStats Forwarder::Impl::stats() const {
  std::lock_guard lock(stats_.mutex);
  ForwarderStats out = stats_.stats;
  out.command_topics = commands_->subscribed();
  out.results = commands_->result_counts();
  return out;
}

void Forwarder::Impl::on_delivery(detail::MessageId id, const Delivery& delivery) noexcept {
  try {
    record_delivery(id, delivery);
  } catch (...) {
    // Out of memory in the client's thread: the session ends without this
    // confirmation, and the reading is sent again (a duplicate, not a loss).
    std::lock_guard lock(mutex_);
    events_.lost = true;
    events_.lost_cause = "a delivery could not be recorded";
    cv_.notify_all();
  }
}

void Forwarder::Impl::record_delivery(detail::MessageId id, const Delivery& delivery) {
  bool notify = false;
  {
    std::lock_guard lock(mutex_);
    if (delivery.delivered) {
      events_.confirmed.push_back(id);
      // Once, when the forwarder can use them (see wait_for_events).
      notify = events_.confirmed.size() == confirmations_wanted_;
    } else if (refuses_for_good(delivery.reason_code)) {
      events_.refused.emplace_back(
          id, fmt::format("the broker refused it: {} (MQTT 5 reason code {:#04x})", delivery.error,
                          delivery.reason_code));
      notify = events_.refused.size() == 1;
    } else {
      events_.failed.emplace_back(id, fmt::format("delivery failed: {}", delivery.error));
      notify = events_.failed.size() == 1;
    }
  }
  // After the unlock: notified under the lock, the forwarder woke only to
  // block on mutex_ at once, and the client's thread had to wake it again
  // (two context switches per wake-up instead of one, in the fleet profile).
  if (notify) cv_.notify_all();
}

bool Forwarder::Impl::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

Forwarder::Impl::Events Forwarder::Impl::take_events() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, Events{});
}

// Sleeps until something happened or `timeout`; true when stopping.
// Confirmations count once `confirmations` of them are waiting: with more
// than half the window in flight, a wake-up per confirmation only acked and
// slept again (at QoS 0 the hand-offs were the largest cost in the profile).
bool Forwarder::Impl::wait_for_events(milliseconds timeout, std::size_t confirmations) {
  heartbeat_.expect_within(timeout);
  std::unique_lock lock(mutex_);
  confirmations_wanted_ = std::max<std::size_t>(1, confirmations);
  cv_.wait_for(lock, timeout, [this] {
    return stopping_ || events_.lost || events_.woken ||
           events_.confirmed.size() >= confirmations_wanted_ || !events_.failed.empty() ||
           !events_.refused.empty() || events_.stats_payload.has_value();
  });
  confirmations_wanted_ = 1;
  return stopping_;
}

// Sleeps `delay` unless stop() comes first; true when stopping.
bool Forwarder::Impl::sleep_unless_stopped(milliseconds delay) {
  heartbeat_.expect_within(delay);
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void Forwarder::Impl::set_state(State state) {
  state_ = state;
  std::lock_guard lock(stats_.mutex);
  stats_.stats.connected = state == State::kConnected || state == State::kDraining;
  stats_.stats.inflight = window_.size();
}

void Forwarder::Impl::run() {
  while (!stopping()) {
    try {
      if (!connect_session()) continue;
      serve_session();
    } catch (const std::exception& e) {
      // The store or a payload encoder failed: keep going, never die.
      spdlog::error("mqtt: forwarder error: {}", e.what());
      if (state_ == State::kConnected) lose_session(e.what());
      sleep_unless_stopped(backoff_delay(1));
    }
  }
  if (state_ == State::kConnected) {
    drain_session();
    close_session();
  } else {
    abandon_connect();
  }
  set_state(State::kStopped);
  heartbeat_.clear();
}

// Connected: ack what the broker confirmed, keep the window full, until the
// session breaks (→ Disconnected) or stop() is called (state stays Connected).
void Forwarder::Impl::serve_session() {
  while (state_ == State::kConnected) {
    Events events = take_events();
    std::string broken = apply_events(events);
    if (events.stats_payload) publish_stats_now(*events.stats_payload);
    for (auto& hook : hooks_) {
      hook->service(*client_);
      if (auto why = hook->ends_session(); broken.empty() && !why.empty()) broken = std::move(why);
    }
    const bool held = std::any_of(hooks_.begin(), hooks_.end(),
                                  [](const auto& hook) { return hook->holds_readings(); });
    if (broken.empty() && !stopping() && !held) broken = pump_.fill(*client_, deliveries_);
    if (!broken.empty()) {
      lose_session(broken);
      sleep_unless_stopped(backoff_delay(1));
      return;
    }
    const auto worth = window_.confirmations_worth_waking();
    if (wait_for_events(kIdleRecheck, worth)) return;
  }
}

// Acks confirmed readings; returns why the session is broken, or "".
std::string Forwarder::Impl::apply_events(const Events& events) {
  std::vector<std::uint64_t> refused_earlier;
  std::string broken = window_.apply(events, refused_earlier);
  pump_.drop(refused_earlier);
  if (!broken.empty()) return broken;
  if (events.lost) return events.lost_cause;
  return {};
}

void Forwarder::Impl::publish_stats_now(const std::string& payload) {
  if (const auto status = client_->publish({stats_topic_, payload, 0, false}); !status.ok()) {
    spdlog::debug("mqtt: stats not published: {}", status.error);
  }
}

// Connected → Draining: no new readings; wait up to drain_ for the
// confirmations of those in flight.
void Forwarder::Impl::drain_session() {
  set_state(State::kDraining);
  milliseconds drain{0};
  {
    std::lock_guard lock(mutex_);
    drain = drain_;
  }
  const auto deadline = Clock::now() + drain;
  while (!window_.empty()) {
    const Events events = take_events();
    if (!apply_events(events).empty()) return;  // lost: nothing more will be confirmed
    const auto now = Clock::now();
    if (now >= deadline || window_.empty()) break;
    wait_for_events(
        std::min(std::chrono::duration_cast<milliseconds>(deadline - now), milliseconds(100)));
  }
}

Forwarder::Forwarder(const config::MqttConfig& mqtt, const config::GatewayConfig& gateway,
                     Store& store, TopicMap topics, ForwarderParts parts) {
  check_encoders(topics, parts.encoders);
  impl_ = std::make_unique<Impl>(mqtt, gateway, store, std::move(topics), std::move(parts));
}

Forwarder::~Forwarder() = default;

void Forwarder::start() {
  impl_->start();
}
void Forwarder::stop(std::chrono::milliseconds drain) {
  impl_->stop(drain);
}
void Forwarder::wake() {
  impl_->wake();
}
void Forwarder::set_topics(TopicMap topics) {
  impl_->set_topics(std::move(topics));
}
void Forwarder::publish_stats(const std::string& payload) {
  impl_->publish_stats(payload);
}
ForwarderStats Forwarder::stats() const {
  return impl_->stats();
}
const Heartbeat& Forwarder::heartbeat() const noexcept {
  return impl_->heartbeat();
}
void Forwarder::set_command_handler(CommandHandler handler) {
  impl_->commands().set_handler(std::move(handler));
}
void Forwarder::set_command_topics(std::vector<std::string> topics, int qos) {
  impl_->commands().set_topics(std::move(topics), qos);
}
void Forwarder::publish_result(std::string topic, std::string payload, int qos) {
  impl_->commands().queue_result(std::move(topic), std::move(payload), qos,
                                 impl_->stats().connected);
}

}  // namespace fieldgate::bridge
