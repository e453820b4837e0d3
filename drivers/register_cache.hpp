// RegisterCache: the raw words of every register (and bit) a device's driver
// polls, with the time each block was read, for the Modbus server
// (gateway/modbus_server.hpp) to answer other masters without bus traffic.
//
// The driver's worker writes a block after each good read (a copy under the
// cache's own lock into storage sized at construction: no allocation while
// polling); the server's thread reads under the same lock. Neither waits on
// the other for longer than a copy of at most 2000 words.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/driver.hpp"

namespace fieldgate::drivers {

/// The four Modbus data tables (by the function codes that read them: 1, 2, 3, 4).
enum class RegisterTable : std::uint8_t { kCoils, kDiscreteInputs, kHolding, kInput };

/// One device's polled registers as raw 16-bit words (a bit is a word 0 or 1).
class RegisterCache {
 public:
  /// A contiguous range the driver reads in one request, and how often.
  struct Block {
    RegisterTable table = RegisterTable::kHolding;
    std::uint16_t start = 0;
    std::uint16_t count = 0;
    std::chrono::milliseconds interval{1000};
  };
  /// How a read from the cache went.
  enum class Lookup {
    kHit,        // every register is polled and young enough
    kNotPolled,  // some register is in no block, or was never read
    kStale,      // every register is polled, some older than the limit
  };

  /// A point a master may write through the server: exactly the registers
  /// (or the one coil) it occupies, and how their raw words become the value
  /// an MQTT `/set` would carry, so that a write from a master passes the same
  /// checks. Only points configured writable, never a bit of a register (a
  /// register write would change its other bits).
  struct WritablePoint {
    RegisterTable table = RegisterTable::kHolding;  // kHolding or kCoils
    std::uint16_t start = 0;
    std::uint16_t count = 1;
    std::string point;
    /// `count` raw words (a coil: one word 0 or 1) -> the value in the
    /// point's units, scaled as a reading shows it; monostate if they do not decode.
    std::function<Value(std::span<const std::uint16_t>)> decode;
  };

  /// `own_unit_id`: the unit id the device answers to on its serial bus, which
  /// the server may use by default; nullopt for a TCP device (needs an explicit one).
  RegisterCache(std::string device, std::optional<int> own_unit_id, std::vector<Block> blocks,
                std::vector<WritablePoint> writable = {});

  [[nodiscard]] const std::string& device() const noexcept { return device_; }
  [[nodiscard]] std::optional<int> own_unit_id() const noexcept { return own_unit_id_; }
  [[nodiscard]] std::size_t blocks() const noexcept { return slots_.size(); }
  [[nodiscard]] const std::vector<WritablePoint>& writable() const noexcept { return writable_; }

  /// The writable point occupying exactly `count` registers of `table` from
  /// `start`, or null: a range no writable point covers, or only part of one,
  /// or more than one, is never written.
  [[nodiscard]] const WritablePoint* writable_at(RegisterTable table, std::uint16_t start,
                                                 std::uint16_t count) const noexcept;

  /// Keeps the words of block `index` read at `at` (the block's count of them).
  void store(std::size_t index, std::span<const std::uint16_t> words,
             Clock::time_point at) noexcept;
  /// The same for a block of bits (coils, discrete inputs), one byte 0/1 each.
  void store_bits(std::size_t index, std::span<const std::uint8_t> bits,
                  Clock::time_point at) noexcept;

  /// Fills `out` (its size is the count) with the registers from `start`,
  /// each from the newest block holding it. A block older than `max_age`, or
  /// by default twice its interval, at `now` is stale.
  [[nodiscard]] Lookup read(RegisterTable table, std::uint16_t start, std::span<std::uint16_t> out,
                            Clock::time_point now,
                            std::optional<std::chrono::milliseconds> max_age) const noexcept;

 private:
  struct Slot {
    Block block;
    std::vector<std::uint16_t> words;  // block.count of them, sized once
    Clock::time_point read_at{};
    bool valid = false;
  };

  const std::string device_;
  const std::optional<int> own_unit_id_;
  const std::vector<WritablePoint> writable_;  // fixed at construction: read without a lock
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;  // the vector is fixed after construction; contents under mutex_
};

}  // namespace fieldgate::drivers
