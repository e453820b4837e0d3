#include "gateway/availability.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "config/topic_template.hpp"

namespace fieldgate::gateway {
namespace {

constexpr std::string_view kOnline = "online";
constexpr std::string_view kOffline = "offline";

std::string payload_of(Availability availability) {
  return std::string(availability == Availability::kOnline ? kOnline : kOffline);
}

}  // namespace

std::string_view to_string(Availability availability) noexcept {
  switch (availability) {
    case Availability::kOnline:
      return kOnline;
    case Availability::kOffline:
      return kOffline;
    case Availability::kUnknown:
      break;
  }
  return "unknown";
}

Availability next_availability(Availability current, const drivers::DeviceHealth& health,
                               int offline_after) noexcept {
  // last_good_ms tells a poll that was answered from no poll at all.
  if (health.consecutive_failures == 0 && health.last_good_ms != 0) return Availability::kOnline;
  if (health.consecutive_failures >= std::max(offline_after, 1)) return Availability::kOffline;
  return current;
}

AvailabilityBoard::AvailabilityBoard(std::function<void()> on_change)
    : on_change_(std::move(on_change)) {}

void AvailabilityBoard::set_devices(const config::Config& config) {
  {
    std::lock_guard lock(mutex_);
    std::map<std::string, Tracked, std::less<>> fresh;
    std::vector<std::string> moved;  // kept devices on a new topic
    for (const auto& device : config.devices) {
      Tracked tracked;
      tracked.topic = config::expand_topic_template(
          config.mqtt.availability_topic,
          {config.gateway.name, config.gateway.site, device.name, {}, {}});
      tracked.offline_after = device.offline_after;
      if (const auto old = devices_.find(device.name); old != devices_.end()) {
        tracked.state = old->second.state;
        if (old->second.topic != tracked.topic) moved.push_back(device.name);
      }
      fresh.emplace(device.name, std::move(tracked));
    }
    std::set<std::string> kept_topics;
    for (const auto& [name, tracked] : fresh) kept_topics.insert(tracked.topic);
    for (const auto& [name, tracked] : devices_) {
      if (!kept_topics.contains(tracked.topic)) clear_topic(tracked.topic);
    }
    devices_ = std::move(fresh);
    for (const auto& name : moved) {
      const auto& tracked = devices_.at(name);
      if (tracked.state == Availability::kUnknown) continue;
      std::erase(clears_, tracked.topic);
      changed_[tracked.topic] = payload_of(tracked.state);
    }
  }
  if (on_change_) on_change_();
}

void AvailabilityBoard::clear_topic(const std::string& topic) {
  if (std::find(clears_.begin(), clears_.end(), topic) == clears_.end()) {
    if (clears_.size() >= kMaxPendingClears) {
      spdlog::warn("availability: {} topics of removed devices wait to be cleared; {} stays",
                   clears_.size(), clears_.front());
      changed_.erase(clears_.front());
      clears_.erase(clears_.begin());
    }
    clears_.push_back(topic);
  }
  changed_[topic] = "";
}

void AvailabilityBoard::observe(std::string_view device, const drivers::DeviceHealth& health) {
  {
    std::lock_guard lock(mutex_);
    const auto it = devices_.find(device);
    if (it == devices_.end()) return;  // removed by a reload while its poll ran
    auto& tracked = it->second;
    const auto next = next_availability(tracked.state, health, tracked.offline_after);
    if (next == tracked.state) return;
    spdlog::info("availability: device {} is {}", it->first, to_string(next));
    tracked.state = next;
    std::erase(clears_, tracked.topic);
    changed_[tracked.topic] = payload_of(next);
  }
  if (on_change_) on_change_();
}

std::vector<AvailabilityBoard::Message> AvailabilityBoard::take(bool everything) {
  std::lock_guard lock(mutex_);
  std::vector<Message> out;
  if (everything) {
    for (const auto& topic : clears_) out.push_back({topic, ""});
    for (const auto& [name, tracked] : devices_) {
      if (tracked.state != Availability::kUnknown) {
        out.push_back({tracked.topic, payload_of(tracked.state)});
      }
    }
  } else {
    for (auto& [topic, payload] : changed_) out.push_back({topic, std::move(payload)});
  }
  changed_.clear();
  return out;
}

void AvailabilityBoard::published(const Message& message) {
  if (!message.payload.empty()) return;
  std::lock_guard lock(mutex_);
  std::erase(clears_, message.topic);
}

void AvailabilityBoard::failed(const Message& message) {
  std::lock_guard lock(mutex_);
  // Something newer for the topic waits already, or the clear was forgotten.
  if (changed_.contains(message.topic)) return;
  if (message.payload.empty() &&
      std::find(clears_.begin(), clears_.end(), message.topic) == clears_.end()) {
    return;
  }
  changed_[message.topic] = message.payload;
}

std::map<std::string, Availability, std::less<>> AvailabilityBoard::states() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, Availability, std::less<>> out;
  for (const auto& [name, tracked] : devices_) out.emplace(name, tracked.state);
  return out;
}

Availability AvailabilityBoard::state_of(std::string_view device) const {
  std::lock_guard lock(mutex_);
  const auto it = devices_.find(device);
  return it == devices_.end() ? Availability::kUnknown : it->second.state;
}

}  // namespace fieldgate::gateway
