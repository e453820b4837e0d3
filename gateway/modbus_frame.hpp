// Modbus TCP requests as bytes: the MBAP framing and the answer to one
// request from the register caches. Pure functions, no sockets, so the whole
// path a client's bytes take is fuzzed (tests/fuzz/fuzz_modbus_request.cpp).
//
// Our own framing rather than libmodbus's server side: modbus_receive() reads
// one whole frame from one socket, waiting byte_timeout between bytes, so a
// client sending half a frame would hold the server's single thread; here the
// bytes of each client are collected without blocking and a frame is looked at
// only once complete, bounded to 260 bytes.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/register_cache.hpp"

namespace fieldgate::gateway {

inline constexpr std::size_t kMbapHeaderBytes = 7;  // transaction, protocol, length, unit
/// The largest Modbus TCP frame: the header and a 253-byte PDU.
inline constexpr std::size_t kMaxModbusFrame = kMbapHeaderBytes + 253;

/// What the bytes received so far from a client hold.
struct FrameCheck {
  enum class Kind {
    kNeedMore,  // not a whole frame yet
    kFrame,     // a whole frame of `size` bytes at the start
    kBad,       // not Modbus TCP (protocol id not 0, a length that cannot be): close
  };
  Kind kind = Kind::kNeedMore;
  std::size_t size = 0;
  const char* reason = "";
};

/// Looks at the start of `received` (never more than kMaxModbusFrame bytes matter).
[[nodiscard]] FrameCheck check_frame(std::span<const std::uint8_t> received) noexcept;

/// Which device answers for each served unit id, and the age limit of its
/// cached registers (nullopt: twice each block's poll interval).
struct ServedUnits {
  std::array<std::shared_ptr<const drivers::RegisterCache>, 256> by_unit;
  std::optional<std::chrono::milliseconds> max_age;
  /// Reads the cache cannot answer go to the device (a BusRequest) instead
  /// of exception 0x02.
  bool passthrough = false;
};

/// Modbus exception codes the server sends.
enum class ModbusException : std::uint8_t {
  kNone = 0,
  kIllegalFunction = 0x01,
  kIllegalDataAddress = 0x02,      // not polled, too old, or not writable
  kIllegalDataValue = 0x03,        // a quantity out of range, a PDU of the wrong length,
                                   // a value the point's checks refuse
  kServerDeviceFailure = 0x04,     // a write the device refused or did not answer
  kServerDeviceBusy = 0x06,        // too many requests wait for the bus: try again later
  kGatewayPathUnavailable = 0x0A,  // the unit id maps to no device
  kGatewayTargetFailed = 0x0B,     // a passed-through read the device did not answer
};

/// A request the caches cannot answer: for the device's bus worker, through
/// the command router (a write) or queued like one (a passed-through read).
struct BusRequest {
  enum class Kind { kWrite, kRead };
  Kind kind = Kind::kRead;
  std::shared_ptr<const drivers::RegisterCache> device;
  drivers::RegisterTable table = drivers::RegisterTable::kHolding;
  std::uint16_t start = 0;
  std::uint16_t count = 0;  // registers or bits
  std::string point;        // kWrite: the writable point the registers are exactly
  Value value;              // kWrite: the words decoded, in the point's units
};

/// What answering one request did, for the counters.
struct Answer {
  std::uint8_t function = 0;
  ModbusException exception = ModbusException::kNone;
  /// Set when the request read the cache.
  std::optional<drivers::RegisterCache::Lookup> lookup;
  /// Set when the answer must come from the device: the response is not
  /// written, the caller submits this and answers later (write_response,
  /// read_response, exception_response).
  std::optional<BusRequest> bus;
};

/// The response to the whole frame `frame` (check_frame said kFrame) into
/// `out` (cleared first; at most kMaxModbusFrame bytes). Reads come from the
/// cache of the unit's device, or with `passthrough` become a BusRequest when
/// it cannot answer them. A write (5, 6, 15, 16) of exactly the registers of
/// one writable point becomes a BusRequest (`out` left empty); any other
/// write gets 0x02 (0x03 for lying counts or a coil value not 0xFF00/0),
/// 23 and other functions 0x01.
Answer answer_request(std::span<const std::uint8_t> frame, const ServedUnits& units,
                      drivers::Clock::time_point now, std::vector<std::uint8_t>& out);

/// Exception `code` to the request `frame`, into `out`.
void exception_response(std::span<const std::uint8_t> frame, ModbusException code,
                        std::vector<std::uint8_t>& out);
/// The normal response to the write request `frame` (FC 5, 6: an echo; 15,
/// 16: the address and quantity), once the device confirmed it.
void write_response(std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out);
/// The normal response to the read request `frame` (FC 1..4) with `words`
/// (its quantity of them; a bit is a word 0 or 1).
void read_response(std::span<const std::uint8_t> frame, std::span<const std::uint16_t> words,
                   std::vector<std::uint8_t>& out);

}  // namespace fieldgate::gateway
