// Fuzz target: the Modbus server's request path (gateway/modbus_frame.*), the
// bytes of one client as the server's loop takes them: check_frame on what
// arrived, answer_request for each whole frame, from a register cache with a
// holding, an input, a coil and a stale block.
//
// Input: the bytes a client sends, in one piece (the framing does not depend
// on how they are split: check_frame only looks at what is there).
//
// Each frame is answered twice: by units without and with `passthrough`.
//
// Checks: nothing crashes or throws; a frame is never larger than 260 bytes
// and a response never either; a response echoes the transaction and unit
// id, has protocol id 0 and a length that matches; a write (FC 5, 6, 15, 16,
// 23) gets an exception, unless it is exactly the registers of a writable
// point (holding 300..301, coil 20), and only then does it go to the bus,
// with the words decoded; a read answered with data has the byte count its
// quantity needs and the cache's words; a read goes to the bus only with
// passthrough, for the range asked; a bad frame stops the client's stream.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "drivers/register_cache.hpp"
#include "gateway/modbus_frame.hpp"

namespace {

using fieldgate::drivers::Clock;
using fieldgate::drivers::RegisterCache;
using fieldgate::drivers::RegisterTable;
namespace gateway = fieldgate::gateway;

void require(bool ok) {
  if (!ok) std::abort();
}

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

// Holding 0..9 = 1000 + address, input 100..104 = address, coils 0..15
// alternate, holding 200..201 read two days ago (stale: max_age is one day);
// writable: a uint32 at holding 300..301 and coil 20.
const gateway::ServedUnits& units(Clock::time_point now, bool passthrough) {
  static const auto served = [now] {
    std::vector<RegisterCache::WritablePoint> writable;
    writable.push_back(
        {RegisterTable::kHolding, 300, 2, "limit", [](std::span<const std::uint16_t> w) {
           require(w.size() == 2);
           return fieldgate::Value{
               static_cast<std::int64_t>((static_cast<std::uint32_t>(w[0]) << 16) | w[1])};
         }});
    writable.push_back(
        {RegisterTable::kCoils, 20, 1, "relay", [](std::span<const std::uint16_t> w) {
           require(w.size() == 1 && w[0] <= 1);
           return fieldgate::Value{w[0] != 0};
         }});
    auto cache = std::make_shared<RegisterCache>(
        "meter", 1,
        std::vector<RegisterCache::Block>{
            {RegisterTable::kHolding, 0, 10, std::chrono::seconds(1)},
            {RegisterTable::kInput, 100, 5, std::chrono::seconds(1)},
            {RegisterTable::kCoils, 0, 16, std::chrono::seconds(1)},
            {RegisterTable::kHolding, 200, 2, std::chrono::seconds(1)}},
        std::move(writable));
    std::vector<std::uint16_t> words;
    for (std::uint16_t i = 0; i < 10; ++i) words.push_back(static_cast<std::uint16_t>(1000 + i));
    cache->store(0, words, now);
    words = {100, 101, 102, 103, 104};
    cache->store(1, words, now);
    std::vector<std::uint8_t> bits(16);
    for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = i % 2;
    cache->store_bits(2, bits, now);
    words = {7, 8};
    cache->store(3, words, now - std::chrono::hours(48));
    auto u = std::make_unique<gateway::ServedUnits>();
    u->by_unit[1] = cache;
    u->by_unit[9] = cache;
    u->max_age = std::chrono::hours(24);  // the fresh blocks stay fresh while fuzzing
    return u;
  }();
  static const auto with_passthrough = [] {
    auto u = std::make_unique<gateway::ServedUnits>(*served);
    u->passthrough = true;
    return u;
  }();
  return passthrough ? *with_passthrough : *served;
}

void check_answer(std::span<const std::uint8_t> frame, const gateway::ServedUnits& served,
                  Clock::time_point now, std::vector<std::uint8_t>& out) {
  const auto answer = gateway::answer_request(frame, served, now, out);
  const auto function = frame[7];
  require(answer.function == function);
  if (answer.bus) {
    // Nothing sent yet: the answer comes from the bus.
    require(out.empty() && answer.exception == gateway::ModbusException::kNone);
    const auto& bus = *answer.bus;
    require(bus.device == served.by_unit[frame[6]]);
    require(bus.start == be16(frame, 8));
    if (bus.kind == gateway::BusRequest::Kind::kWrite) {
      require(function == 5 || function == 6 || function == 15 || function == 16);
      const bool coil = function == 5 || function == 15;
      require(bus.point == (coil ? "relay" : "limit"));
      require(bus.start == (coil ? 20 : 300) && bus.count == (coil ? 1 : 2));
    } else {
      require(served.passthrough && function >= 1 && function <= 4);
      require(bus.count == be16(frame, 10) && bus.count >= 1);
    }
    std::vector<std::uint16_t> words(bus.count, 1);
    if (bus.kind == gateway::BusRequest::Kind::kWrite) {
      gateway::write_response(frame, out);
      require(out.size() == 12 && out[7] == function);
    } else {
      gateway::read_response(frame, words, out);
      require(out.size() <= gateway::kMaxModbusFrame && out.size() == 9U + out[8]);
    }
    return;
  }
  require(out.size() >= 9 && out.size() <= gateway::kMaxModbusFrame);
  require(out[0] == frame[0] && out[1] == frame[1] && be16(out, 2) == 0);
  require(be16(out, 4) == out.size() - 6 && out[6] == frame[6]);
  const bool exception = answer.exception != gateway::ModbusException::kNone;
  require(exception == ((out[7] & 0x80) != 0));
  if (exception) {
    require(out.size() == 9 && out[8] == static_cast<std::uint8_t>(answer.exception));
  }
  if (function == 5 || function == 6 || function == 15 || function == 16 || function == 23) {
    require(exception);
  }
  if (!exception) {
    require(function >= 1 && function <= 4);
    const auto start = be16(frame, 8);
    const auto quantity = be16(frame, 10);
    const bool bits = function <= 2;
    require(out[8] == (bits ? (quantity + 7) / 8 : quantity * 2));
    require(out.size() == 9U + out[8]);
    if (function == 3) {
      for (std::size_t i = 0; i < quantity; ++i) {
        require(be16(out, 9 + 2 * i) == 1000 + start + i);  // only block 0 is fresh
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto now = Clock::now();
  std::span<const std::uint8_t> rest(data, size);
  std::vector<std::uint8_t> out;
  while (!rest.empty()) {
    const auto check =
        gateway::check_frame(rest.first(std::min(rest.size(), gateway::kMaxModbusFrame)));
    if (check.kind != gateway::FrameCheck::Kind::kFrame) break;  // more needed, or closed
    require(check.size >= 8 && check.size <= gateway::kMaxModbusFrame && check.size <= rest.size());
    const auto frame = rest.first(check.size);
    check_answer(frame, units(now, false), now, out);
    check_answer(frame, units(now, true), now, out);
    rest = rest.subspan(check.size);
  }
  return 0;
}
