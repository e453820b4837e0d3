#include "gateway/publish_filter.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "config/route.hpp"

namespace fieldgate::gateway {
namespace {

std::optional<double> number_of(const Value& v) noexcept {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::nullopt;
}

bool number_changed(double before, double now, const config::Deadband& deadband) noexcept {
  if (std::isnan(before) || std::isnan(now)) return std::isnan(before) != std::isnan(now);
  if (before == now) return false;  // also the same infinity
  if (std::isinf(before) || std::isinf(now)) return true;
  const double threshold =
      deadband.percent ? deadband.amount / 100.0 * std::fabs(before) : deadband.amount;
  return std::fabs(now - before) > threshold;
}

}  // namespace

bool value_changed(const Value& before, const Value& now,
                   const config::Deadband& deadband) noexcept {
  const auto a = number_of(before);
  const auto b = number_of(now);
  if (a && b) return number_changed(*a, *b, deadband);
  return before != now;
}

Verdict decide(const config::PublishPolicy& policy, const LastPublished& last,
               const Reading& reading) noexcept {
  if (!last.any) return Verdict::kFirst;
  if (reading.quality != last.quality) return Verdict::kQualityChanged;
  const auto elapsed = reading.source_ts_ms - last.ts_ms;
  if (elapsed < 0) return Verdict::kClockBack;
  if (elapsed < policy.min_interval.count()) return Verdict::kTooSoon;
  if (policy.mode == config::PublishMode::kAlways) return Verdict::kAlways;
  if (value_changed(last.value, reading.value, policy.deadband)) return Verdict::kChanged;
  if (policy.max_interval.count() > 0 && elapsed >= policy.max_interval.count()) {
    return Verdict::kHeartbeat;
  }
  return Verdict::kUnchanged;
}

void PublishFilter::make_key(std::string& out, std::string_view device, std::string_view point) {
  out.assign(device);
  out.push_back('\0');  // neither name can hold a NUL
  out.append(point);
}

PublishFilter::PublishFilter(const config::Config& config) {
  const config::PublishPolicy every_reading;
  std::string k;
  for (const auto& device : config.devices) {
    auto& held_back = by_device_[device.name];
    const bool whole_poll = config::resolve_route(config, &device, nullptr).per_device;
    for (const auto& point : device.points) {
      const auto& policy = device.policy_of(point);
      // A point that publishes every reading needs no memory: decide() lets
      // all its readings through. Only the others are kept (with 10,000
      // points, 160 bytes each).
      if (policy == every_reading) continue;
      active_ = true;
      make_key(k, device.name, point.name);
      points_.emplace(k, PointState{policy, {}, &held_back, whole_poll});
    }
  }
}

std::uint64_t PublishFilter::apply(Batch& batch) {
  if (!active_ || batch.empty()) return 0;
  std::string k;
  std::vector<PointState*> states(batch.size(), nullptr);
  std::vector<Verdict> verdicts(batch.size(), Verdict::kAlways);  // unknown points pass
  std::vector<std::string_view> heartbeats;  // devices whose whole poll goes (per-device formats)
  for (std::size_t i = 0; i < batch.size(); ++i) {  // in order: a batch may hold a point twice
    const auto& reading = batch[i];
    make_key(k, reading.device, reading.point);
    const auto it = points_.find(k);
    if (it == points_.end()) continue;
    auto& state = it->second;
    states[i] = &state;
    verdicts[i] = decide(state.policy, state.last, reading);
    if (!publishes(verdicts[i])) continue;
    state.last = LastPublished{true, reading.value, reading.quality, reading.source_ts_ms};
    if (verdicts[i] == Verdict::kHeartbeat && state.whole_poll &&
        std::find(heartbeats.begin(), heartbeats.end(), reading.device) == heartbeats.end()) {
      heartbeats.push_back(reading.device);
    }
  }
  // A device-json message is the device's state: on one point's heartbeat it
  // carries every point of the poll, unchanged ones too (min_interval still
  // holds them back), so that consumers get a whole snapshot at least every
  // max_interval. Otherwise it carries only what changed.
  for (std::size_t i = 0; i < batch.size() && !heartbeats.empty(); ++i) {
    const auto& reading = batch[i];
    if (verdicts[i] != Verdict::kUnchanged ||
        std::find(heartbeats.begin(), heartbeats.end(), reading.device) == heartbeats.end()) {
      continue;
    }
    verdicts[i] = Verdict::kHeartbeat;
    auto& last = states[i]->last;
    if (reading.source_ts_ms >= last.ts_ms) {
      last = LastPublished{true, reading.value, reading.quality, reading.source_ts_ms};
    }
  }
  std::uint64_t held_back = 0;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!publishes(verdicts[i])) {
      states[i]->held_back->fetch_add(1, std::memory_order_relaxed);
      ++held_back;
      continue;
    }
    if (kept != i) batch[kept] = std::move(batch[i]);
    ++kept;
  }
  batch.resize(kept);
  return held_back;
}

std::uint64_t PublishFilter::suppressed() const noexcept {
  std::uint64_t total = 0;
  for (const auto& [device, count] : by_device_) total += count.load(std::memory_order_relaxed);
  return total;
}

std::map<std::string, std::uint64_t> PublishFilter::suppressed_by_device() const {
  std::map<std::string, std::uint64_t> counts;
  for (const auto& [device, count] : by_device_) {
    counts.emplace(device, count.load(std::memory_order_relaxed));
  }
  return counts;
}

}  // namespace fieldgate::gateway
