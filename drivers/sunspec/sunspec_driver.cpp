#include "drivers/sunspec/sunspec_driver.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/units.hpp"
#include "core/clock.hpp"
#include "drivers/modbus/transaction.hpp"
#include "drivers/sunspec/decoder.hpp"
#include "drivers/sunspec/model_table.hpp"

namespace fieldgate::sunspec {

SunSpecDriver::SunSpecDriver(std::shared_ptr<const config::DeviceConfig> device,
                             std::string channel, std::shared_ptr<modbus::ModbusLink> link,
                             std::shared_ptr<drivers::DeviceNotes> notes)
    : device_owner_(std::move(device)),
      device_(*device_owner_),
      settings_(modbus::device_of(device_)),
      channel_(std::move(channel)),
      link_(std::move(link)),
      notes_(std::move(notes)) {
  limits_.max_read = settings_.max_registers;
  if (!notes_) return;
  // A layout kept from an earlier run lets the gateway publish as soon as the
  // device answers, without walking first; it is checked like a walk.
  if (auto text = notes_->load(device_.name, kLayoutNote)) {
    std::string error;
    if (auto layout = parse_layout(*text, limits_, error)) {
      adopt(std::move(*layout), "kept from an earlier run");
    } else {
      spdlog::warn("{}: the kept SunSpec layout is not usable ({}); the chain is walked again",
                   device_.name, error);
    }
  }
}

std::vector<std::string> SunSpecDriver::describe_plan() const {
  if (!layout_) {
    return {"SunSpec: the model chain (marker at 40000, 50000 or 0) is walked at the first poll"};
  }
  std::vector<std::string> lines{
      fmt::format("SunSpec at {}: {}", layout_->base, sunspec::describe(*layout_))};
  for (const auto& r : requests_) {
    lines.push_back(fmt::format("holding {}..{} ({} registers) every {}", r.start,
                                r.start + r.count - 1, r.count,
                                config::format_duration(device_.poll_interval)));
  }
  return lines;
}

std::size_t SunSpecDriver::max_requests_per_poll() const {
  if (layout_) return requests_.size();
  // Every base tried, a header per model and the end marker; then each model
  // read whole (headers included), split at the request size.
  const auto walk = std::size(kBases) + static_cast<std::size_t>(limits_.max_models) + 1;
  const auto registers = limits_.max_total_registers + 2 * limits_.max_models;
  const auto reads = static_cast<std::size_t>(
      (registers + limits_.max_read - 1) / limits_.max_read + limits_.max_models);
  return walk + reads;
}

ReadOutcome SunSpecDriver::read_holding(std::uint16_t address, std::span<std::uint16_t> out) {
  const auto count = static_cast<int>(out.size());
  const auto what = fmt::format("holding {}..{}", address, address + count - 1);
  const modbus::Addressee to{settings_.unit_id, device_.response_timeout, settings_.byte_timeout};
  auto outcome = modbus::run_request(
      *link_, to, modbus::Repeat::kRead, device_.retries, health_, what,
      [&](modbus_t* ctx) { return modbus_read_registers(ctx, address, count, out.data()); }, count);
  return {outcome.quality, std::move(outcome.error)};
}

void SunSpecDriver::adopt(Layout layout, std::string_view how) {
  layout_ = std::move(layout);
  prefixes_ = point_prefixes(*layout_);
  requests_.clear();
  // Each decoded model is read whole (header included, to see that it is
  // still there); neighbours are joined, and split at the device's request size.
  for (const auto& m : layout_->models) {
    if (find_model(m.id) == nullptr) continue;
    int start = m.address;
    int end = m.address + 2 + m.length;
    if (!requests_.empty() && requests_.back().start + requests_.back().count == start &&
        requests_.back().count < limits_.max_read) {
      start = requests_.back().start;
      requests_.pop_back();
    }
    while (start < end) {
      const int count = std::min(end - start, limits_.max_read);
      requests_.push_back({static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(count)});
      start += count;
    }
  }
  image_.assign(requests_.empty()
                    ? 0
                    : static_cast<std::size_t>(requests_.back().start + requests_.back().count -
                                               requests_.front().start),
                0);
  health_.discovered = fmt::format("SunSpec at {}: {}", layout_->base, describe(*layout_));
  spdlog::info("{}: SunSpec layout {}: {}", device_.name, how, health_.discovered);
}

bool SunSpecDriver::ensure_layout(std::string& first_error) {
  if (layout_) return true;
  auto result = walk([this](std::uint16_t address,
                            std::span<std::uint16_t> out) { return read_holding(address, out); },
                     limits_);
  for (const auto& note : result.notes) spdlog::info("{}: SunSpec: {}", device_.name, note);
  if (!result.layout) {
    first_error = "SunSpec: " + result.error;
    health_.discovered = first_error;
    return false;
  }
  adopt(std::move(*result.layout), "walked");
  if (notes_) notes_->save(device_.name, kLayoutNote, to_text(*layout_));
  return true;
}

void SunSpecDriver::fail_model(std::size_t index, const ReadOutcome& outcome, std::int64_t ts_ms,
                               Batch& out) const {
  const auto& m = layout_->models[index];
  const auto* def = find_model(m.id);
  if (def == nullptr) return;
  std::vector<DecodedValue> points;
  list_points(*def, prefixes_[index], m.length, points);
  for (auto& p : points) {
    out.push_back(Reading{device_.name, std::move(p.name), std::monostate{}, std::move(p.unit),
                          outcome.quality, ts_ms, 0, outcome.error});
  }
}

void SunSpecDriver::read_models(std::int64_t ts_ms, Batch& out, std::string& first_error,
                                bool& answered) {
  const int origin = requests_.empty() ? 0 : requests_.front().start;
  std::vector<ReadOutcome> outcomes;
  std::optional<ReadOutcome> link_down;
  for (const auto& r : requests_) {
    auto outcome =
        link_down ? *link_down
                  : read_holding(r.start, std::span(image_).subspan(
                                              static_cast<std::size_t>(r.start - origin), r.count));
    if (outcome.quality == Quality::kGood || outcome.quality == Quality::kException) {
      answered = true;
    }
    if (outcome.quality == Quality::kTimeout || outcome.quality == Quality::kNoConnection) {
      link_down = outcome;
    }
    if (outcome.quality != Quality::kGood && first_error.empty()) first_error = outcome.error;
    outcomes.push_back(std::move(outcome));
  }
  bool changed = false;
  DecodeStats stats;
  std::vector<DecodedValue> values;
  for (std::size_t index = 0; index < layout_->models.size(); ++index) {
    const auto& m = layout_->models[index];
    const auto* def = find_model(m.id);
    if (def == nullptr) continue;
    const int end = m.address + 2 + m.length;
    // The first failed request that covers this model, if any.
    const ReadOutcome* failed = nullptr;
    for (std::size_t r = 0; r < requests_.size() && failed == nullptr; ++r) {
      const int r_end = requests_[r].start + requests_[r].count;
      if (requests_[r].start < end && r_end > m.address && outcomes[r].quality != Quality::kGood) {
        failed = &outcomes[r];
      }
    }
    if (failed != nullptr) {
      // A refused address where a model was: the device's layout may have changed.
      if (failed->quality == Quality::kException) changed = true;
      fail_model(index, *failed, ts_ms, out);
      continue;
    }
    const auto at = static_cast<std::size_t>(m.address - origin);
    if (image_[at] != m.id || image_[at + 1] != m.length) {
      changed = true;
      const ReadOutcome moved{Quality::kBadResponse,
                              fmt::format("SunSpec model {} expected at {} (length {}), found "
                                          "id {} length {}: the layout changed",
                                          m.id, m.address, m.length, image_[at], image_[at + 1])};
      if (first_error.empty()) first_error = moved.error;
      fail_model(index, moved, ts_ms, out);
      continue;
    }
    values.clear();
    decode_model(*def, prefixes_[index], std::span(image_).subspan(at + 2, m.length), values,
                 stats);
    for (auto& v : values) {
      out.push_back(Reading{device_.name,
                            std::move(v.name),
                            std::move(v.value),
                            std::move(v.unit),
                            Quality::kGood,
                            ts_ms,
                            0,
                            {}});
    }
  }
  if (changed) {
    spdlog::warn(
        "{}: the SunSpec layout seems to have changed; the chain is walked again at the "
        "next poll",
        device_.name);
    layout_.reset();
    requests_.clear();
    image_.clear();
  }
}

void SunSpecDriver::finish_poll(const std::string& first_error, bool answered) {
  ++health_.polls;
  health_.connected = link_->connected();
  if (!first_error.empty() && first_error != health_.last_error) {
    spdlog::warn("{}: {}", device_.name, first_error);
  } else if (first_error.empty() && !health_.last_error.empty()) {
    spdlog::info("{}: answering again", device_.name);
  }
  health_.last_error = first_error;
  if (first_error.empty()) health_.last_good_ms = unix_ms_now();
  health_.consecutive_failures = answered ? 0 : health_.consecutive_failures + 1;
}

Batch SunSpecDriver::poll(drivers::Clock::time_point now, bool force) {
  Batch batch;
  if (!force && next_due_ > now) return batch;
  const auto interval = device_.poll_interval;
  next_due_ = next_due_ == drivers::Clock::time_point{} ? now + interval : next_due_ + interval;
  if (next_due_ <= now) next_due_ = now + interval;

  std::string first_error;
  bool answered = false;
  if (ensure_layout(first_error)) read_models(unix_ms_now(), batch, first_error, answered);
  finish_poll(first_error, answered);
  return batch;
}

std::unique_ptr<drivers::Driver> make_sunspec_driver(
    std::shared_ptr<const config::DeviceConfig> device, std::string channel,
    std::shared_ptr<modbus::ModbusLink> link, std::shared_ptr<drivers::DeviceNotes> notes) {
  return std::make_unique<SunSpecDriver>(std::move(device), std::move(channel), std::move(link),
                                         std::move(notes));
}

}  // namespace fieldgate::sunspec
