#include "bridge/retained_set_hook.hpp"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace fieldgate::bridge {

void RetainedSetHook::replace(Contents contents) {
  std::lock_guard lock(mutex_);
  for (const auto& [topic, payload] : contents_.messages) {
    if (!contents.messages.contains(topic)) {
      to_delete_.insert(topic);
      pending_.push_back(topic);
    }
  }
  for (const auto& [topic, payload] : contents.messages) {
    to_delete_.erase(topic);
    const auto old = contents_.messages.find(topic);
    if (old == contents_.messages.end() || old->second != payload) pending_.push_back(topic);
  }
  contents_ = std::move(contents);
}

std::uint64_t RetainedSetHook::resends() const {
  std::lock_guard lock(mutex_);
  return resends_;
}

// Deletions first: a topic both removed and re-added is in the set, not here.
void RetainedSetHook::queue_all_locked() {
  pending_.clear();
  for (const auto& topic : to_delete_) pending_.push_back(topic);
  for (const auto& [topic, payload] : contents_.messages) pending_.push_back(topic);
}

std::string RetainedSetHook::on_connect(MqttClient& client) {
  std::string trigger;
  int qos = 1;
  {
    std::lock_guard lock(mutex_);
    in_flight_.clear();  // the last session's completions are ignored by tag
    queue_all_locked();
    trigger = contents_.trigger_topic;
    qos = contents_.qos;
    subscribed_ = trigger;
  }
  if (!trigger.empty()) {
    if (const auto status = client.subscribe({trigger}, qos); !status.ok()) {
      return "cannot subscribe to " + trigger + ": " + status.error;
    }
  }
  return {};
}

void RetainedSetHook::service(MqttClient& client) {
  std::vector<SessionMessage> batch;
  std::vector<CompletionTag> tags;
  std::string subscribe;
  {
    std::lock_guard lock(mutex_);
    if (contents_.trigger_topic != subscribed_ && !contents_.trigger_topic.empty()) {
      subscribe = contents_.trigger_topic;  // a reload changed it (the old one stays: harmless)
      subscribed_ = subscribe;
    }
    const auto now = Clock::now();
    if (resend_requested_ && (!resent_once_ || now - last_resend_ >= contents_.resend_interval)) {
      resend_requested_ = false;
      resent_once_ = true;
      last_resend_ = now;
      ++resends_;
      queue_all_locked();
    }
    while (!pending_.empty() && in_flight_.size() < kWindow) {  // in_flight_ counts the batch
      std::string topic = std::move(pending_.front());
      pending_.pop_front();
      const auto it = contents_.messages.find(topic);
      std::string payload = it == contents_.messages.end() ? std::string() : it->second;
      const CompletionTag tag = next_tag_++;
      in_flight_[tag] = topic;
      tags.push_back(tag);
      batch.push_back({std::move(topic), std::move(payload), contents_.qos, true});
    }
  }
  if (!subscribe.empty()) {
    if (const auto status = client.subscribe({subscribe}, 1); !status.ok()) {
      spdlog::warn("mqtt: cannot subscribe to {}: {}", subscribe, status.error);
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto status = client.publish(batch[i], this, tags[i]);
    if (status.ok()) continue;
    spdlog::warn("mqtt: retained message on {} not published: {}", batch[i].topic, status.error);
    std::lock_guard lock(mutex_);
    in_flight_.erase(tags[i]);
    if (status.kind == MqttStatus::Kind::kSessionBroken) {
      // The next connect publishes everything again.
      return;
    }
  }
}

bool RetainedSetHook::on_message(const IncomingMessage& message) noexcept {
  try {
    {
      std::lock_guard lock(mutex_);
      if (contents_.trigger_topic.empty() || message.topic != contents_.trigger_topic) {
        return false;
      }
      // Only the payload is compared: a hostile one costs nothing more. A
      // retained trigger is the broker's memory of an old one, not a restart.
      if (message.retained || message.payload != contents_.trigger_payload) return true;
      resend_requested_ = true;
    }
    if (wake_) wake_();
    return true;
  } catch (...) {
    return true;
  }
}

void RetainedSetHook::on_published(CompletionTag tag, const Delivery& delivery) noexcept {
  try {
    bool more = false;
    {
      std::lock_guard lock(mutex_);
      const auto it = in_flight_.find(tag);
      if (it == in_flight_.end()) return;  // an earlier session's
      if (delivery.delivered && !contents_.messages.contains(it->second)) {
        to_delete_.erase(it->second);
      }
      if (!delivery.delivered) {
        spdlog::debug("mqtt: retained message on {} not confirmed: {}", it->second, delivery.error);
      }
      in_flight_.erase(it);
      more = !pending_.empty();
    }
    if (more && wake_) wake_();
  } catch (...) {
    // Never across the client's thread.
  }
}

}  // namespace fieldgate::bridge
