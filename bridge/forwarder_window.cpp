#include "bridge/forwarder_window.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "bridge/outgoing.hpp"

namespace fieldgate::bridge::detail {
namespace {

using Clock = std::chrono::steady_clock;

// Distinct refusals logged at warning level; after that, counted only.
constexpr std::size_t kMaxLoggedRefusals = 64;
// Invariant 11: a message sent alone, and the session ends this soon after,
// this many times in a row: the broker is taken to refuse it.
constexpr std::chrono::seconds kPoisonWindow{5};
constexpr int kPoisonStrikes = 3;

std::vector<std::uint64_t> seqs_of(const InflightMessage& message) {
  std::vector<std::uint64_t> seqs{message.seq};
  seqs.insert(seqs.end(), message.more_seqs.begin(), message.more_seqs.end());
  return seqs;
}

}  // namespace

void Window::add(MessageId id, InflightMessage message) {
  if (message.qos == 2) ++qos2_;
  if (message.qos > 0) ++acked_;
  inflight_.emplace(id, std::move(message));
}

// The pump refills once at most half the window is in flight (Pump::fill).
// With half or less in flight after a fill, nothing was left to send (the
// store's commit wakes the forwarder when there is): confirmations are only
// acks then, and the store deletes acked readings at its next commit anyway,
// so they wait for the whole window (or the forwarder's idle recheck). With
// the notify moved out of the lock (Forwarder::Impl::record_delivery), the
// forwarder thread went from 0.11-0.15 to 0.08-0.09 context switches per
// reading at 100 ms polls. QoS 2's quota refills one message at a time, as
// before; an isolated suspect is a window of one.
bool Window::wants_refill() const noexcept {
  return inflight_.size() <= max_ / 2 && acked_ <= limit() / 2;
}

std::size_t Window::confirmations_worth_waking() const noexcept {
  const std::size_t inflight = inflight_.size();
  const std::size_t over_max = inflight > max_ / 2 ? inflight - max_ / 2 : 0;
  const std::size_t half_limit = limit() / 2;
  const std::size_t over_limit = acked_ > half_limit ? acked_ - half_limit : 0;
  if (over_max > 0 || over_limit > 0) return std::max(over_max, over_limit);
  if (qos2_ > 0) return 1;
  return std::max<std::size_t>(1, inflight);
}

void Window::erase(std::unordered_map<MessageId, InflightMessage>::iterator it) {
  if (it->second.qos == 2) --qos2_;
  if (it->second.qos > 0) --acked_;
  inflight_.erase(it);
}

std::string Window::apply(const Outcomes& outcomes, std::vector<std::uint64_t>& refused_earlier) {
  std::vector<std::uint64_t> seqs;
  const auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::duration> quickest;
  std::size_t acknowledged = 0;  // at QoS 1 and 2: they size the window
  for (const MessageId id : outcomes.confirmed) {
    const auto it = inflight_.find(id);
    if (it == inflight_.end()) continue;  // an earlier session's message (invariant 6)
    if (it->second.qos > 0) {
      ++acknowledged;
      // A resent one's round trip is the outage's.
      if (it->second.alone && id >= resume_barrier_) {
        const auto rtt = now - it->second.sent;
        quickest = quickest ? std::min(*quickest, rtt) : rtt;
      }
    }
    seqs.push_back(it->second.seq);
    seqs.insert(seqs.end(), it->second.more_seqs.begin(), it->second.more_seqs.end());
    erase(it);
  }
  if (acknowledged > 0) sizer_.confirmed(acknowledged, quickest, now);
  if (!seqs.empty()) {
    store_.ack(seqs);
    confirmed_in_session_ = true;
    if (suspect_.seq != 0 && std::find(seqs.begin(), seqs.end(), suspect_.seq) != seqs.end()) {
      clear_suspect();
    }
  }
  for (const auto& [id, reason] : outcomes.refused) {
    auto it = inflight_.find(id);
    const bool current = it != inflight_.end();
    if (!current) {
      it = previous_.find(id);  // refused, then the session ended
      if (it == previous_.end()) continue;
    }
    const std::vector<std::uint64_t> refused = seqs_of(it->second);
    dead_letter(refused, it->second.topic, reason);
    if (std::find(refused.begin(), refused.end(), suspect_.seq) != refused.end()) clear_suspect();
    if (current) {
      erase(it);
      confirmed_in_session_ = true;  // the broker answered: the session works
    } else {
      previous_.erase(it);
      // Peeked again already for the new session: not to be sent a second time.
      refused_earlier.insert(refused_earlier.end(), refused.begin(), refused.end());
    }
  }
  {
    std::lock_guard lock(stats_.mutex);
    stats_.stats.delivered += seqs.size();
    stats_.stats.inflight = inflight_.size();
    stats_.stats.window = limit();
  }
  for (const auto& [id, reason] : outcomes.failed) {
    if (inflight_.contains(id)) return reason;
  }
  return {};
}

void Window::dead_letter(std::span<const std::uint64_t> seqs, const std::string& topic,
                         const std::string& reason) {
  std::vector<DeadLetter> letters;
  letters.reserve(seqs.size());
  const auto shown = describe_topic(topic);
  const auto text = fmt::format("{} (topic {})", reason, shown);
  for (const auto seq : seqs) letters.push_back({seq, text});
  store_.dead_letter(letters);
  std::uint64_t total = 0;
  {
    std::lock_guard lock(stats_.mutex);
    stats_.stats.dead_lettered += seqs.size();
    total = stats_.stats.dead_lettered;
  }
  // One line per kind of refusal and topic, from a bounded set; the count
  // goes on in the stats and in `fieldgate queue stats`.
  const auto key = reason.substr(0, reason.find(':')) + '\n' + shown;
  if (logged_refusals_.size() < kMaxLoggedRefusals && logged_refusals_.insert(key).second) {
    spdlog::warn(
        "mqtt: seq {} cannot be published on {}: {}; moved to the dead-letter table with {} "
        "reading(s) ({} since start; `fieldgate queue ls --dead` shows them; further ones like "
        "it are counted, not logged)",
        seqs.front(), shown, reason, seqs.size(), total);
  }
}

void Window::retire() {
  if (!inflight_.empty()) previous_ = std::move(inflight_);
  inflight_.clear();
  qos2_ = 0;
  acked_ = 0;
}

std::size_t Window::clear() {
  const std::size_t n = inflight_.size();
  inflight_.clear();
  qos2_ = 0;
  acked_ = 0;
  return n;
}

void Window::mark_resumed() noexcept {
  resume_barrier_ = next_id_;
  resumed_at_ = Clock::now();
}

bool Window::resuming() const {
  return std::any_of(inflight_.begin(), inflight_.end(),
                     [&](const auto& entry) { return entry.first < resume_barrier_; });
}

void Window::note_suspect() {
  if (inflight_.empty()) return;
  const auto head =
      std::min_element(inflight_.begin(), inflight_.end(),
                       [](const auto& a, const auto& b) { return a.second.seq < b.second.seq; });
  const InflightMessage& message = head->second;
  if (message.seq != suspect_.seq) {
    suspect_ = Suspect{message.seq, 0, 0};
    isolating_ = false;
  }
  ++suspect_.losses;
  if (isolating_ && inflight_.size() == 1 && Clock::now() - isolated_sent_at_ < kPoisonWindow) {
    ++suspect_.alone;
  }
  if (suspect_.alone >= kPoisonStrikes) {
    dead_letter(seqs_of(message), message.topic,
                fmt::format("the broker closed the connection each time it was sent ({} times, "
                            "alone, within {} s)",
                            suspect_.alone, kPoisonWindow.count()));
    erase(head);
    clear_suspect();
    return;
  }
  if (suspect_.losses >= 2 && !isolating_) {
    isolating_ = true;
    spdlog::info(
        "mqtt: seq {} was unconfirmed when the last {} sessions ended; messages go out one at "
        "a time until the broker confirms it",
        message.seq, suspect_.losses);
  }
}

void Window::clear_suspect() {
  if (isolating_) spdlog::info("mqtt: messages go out in full windows again");
  suspect_ = Suspect{};
  isolating_ = false;
}

}  // namespace fieldgate::bridge::detail
