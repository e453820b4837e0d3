#include "drivers/register_cache.hpp"

#include <algorithm>

namespace fieldgate::drivers {

RegisterCache::RegisterCache(std::string device, std::optional<int> own_unit_id,
                             std::vector<Block> blocks, std::vector<WritablePoint> writable)
    : device_(std::move(device)), own_unit_id_(own_unit_id), writable_(std::move(writable)) {
  slots_.reserve(blocks.size());
  for (const auto& block : blocks) {
    slots_.push_back(Slot{block, std::vector<std::uint16_t>(block.count), {}, false});
  }
}

const RegisterCache::WritablePoint* RegisterCache::writable_at(RegisterTable table,
                                                               std::uint16_t start,
                                                               std::uint16_t count) const noexcept {
  for (const auto& point : writable_) {
    if (point.table == table && point.start == start && point.count == count) return &point;
  }
  return nullptr;
}

void RegisterCache::store(std::size_t index, std::span<const std::uint16_t> words,
                          Clock::time_point at) noexcept {
  if (index >= slots_.size()) return;
  const std::scoped_lock lock(mutex_);
  auto& slot = slots_[index];
  const auto n = std::min(words.size(), slot.words.size());
  std::copy_n(words.begin(), n, slot.words.begin());
  slot.read_at = at;
  slot.valid = n == slot.words.size();
}

void RegisterCache::store_bits(std::size_t index, std::span<const std::uint8_t> bits,
                               Clock::time_point at) noexcept {
  if (index >= slots_.size()) return;
  const std::scoped_lock lock(mutex_);
  auto& slot = slots_[index];
  const auto n = std::min(bits.size(), slot.words.size());
  for (std::size_t i = 0; i < n; ++i) slot.words[i] = bits[i] != 0 ? 1 : 0;
  slot.read_at = at;
  slot.valid = n == slot.words.size();
}

RegisterCache::Lookup RegisterCache::read(
    RegisterTable table, std::uint16_t start, std::span<std::uint16_t> out, Clock::time_point now,
    std::optional<std::chrono::milliseconds> max_age) const noexcept {
  const std::scoped_lock lock(mutex_);
  bool stale = false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto address = static_cast<std::uint32_t>(start) + i;
    const Slot* newest = nullptr;
    for (const auto& slot : slots_) {
      const auto& b = slot.block;
      if (!slot.valid || b.table != table || address < b.start ||
          address >= static_cast<std::uint32_t>(b.start) + b.count) {
        continue;
      }
      if (newest == nullptr || slot.read_at > newest->read_at) newest = &slot;
    }
    if (newest == nullptr) return Lookup::kNotPolled;
    const auto limit = max_age.value_or(2 * newest->block.interval);
    if (now - newest->read_at > limit) stale = true;
    out[i] = newest->words[address - newest->block.start];
  }
  return stale ? Lookup::kStale : Lookup::kHit;
}

}  // namespace fieldgate::drivers
