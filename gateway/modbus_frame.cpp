#include "gateway/modbus_frame.hpp"

namespace fieldgate::gateway {
namespace {

using drivers::RegisterCache;
using drivers::RegisterTable;

constexpr std::size_t kMinLength = 2;    // unit id and function code
constexpr std::size_t kMaxLength = 254;  // unit id and a 253-byte PDU
constexpr std::uint16_t kMaxReadBits = 2000;
constexpr std::uint16_t kMaxReadRegisters = 125;
constexpr std::uint16_t kMaxWriteBits = 1968;      // FC15 (the spec's 0x7B0)
constexpr std::uint16_t kMaxWriteRegisters = 123;  // FC16 (0x7B)

std::uint16_t be16(std::span<const std::uint8_t> bytes, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

// The MBAP header of a response whose PDU follows; its length is set by finish().
void begin(std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out) {
  // Transaction id, protocol id, the length (0 until finish()), unit id.
  out.assign({frame[0], frame[1], frame[2], frame[3], 0, 0, frame[6]});
}

void finish(std::vector<std::uint8_t>& out) {
  const auto length = static_cast<std::uint16_t>(out.size() - 6);
  out[4] = static_cast<std::uint8_t>(length >> 8);
  out[5] = static_cast<std::uint8_t>(length & 0xff);
}

Answer refuse(std::span<const std::uint8_t> frame, std::uint8_t function, ModbusException code,
              std::vector<std::uint8_t>& out, std::optional<RegisterCache::Lookup> lookup = {}) {
  begin(frame, out);
  out.push_back(static_cast<std::uint8_t>(function | 0x80));
  out.push_back(static_cast<std::uint8_t>(code));
  finish(out);
  return {function, code, lookup, std::nullopt};
}

std::optional<RegisterTable> read_table(std::uint8_t function) noexcept {
  switch (function) {
    case 1:
      return RegisterTable::kCoils;
    case 2:
      return RegisterTable::kDiscreteInputs;
    case 3:
      return RegisterTable::kHolding;
    case 4:
      return RegisterTable::kInput;
    default:
      return std::nullopt;
  }
}

bool is_write(std::uint8_t function) noexcept {
  return function == 5 || function == 6 || function == 15 || function == 16;
}

// A write request: its PDU checked against what its function says (lengths
// and byte counts that lie are 0x03), then the registers must be exactly one
// writable point's (else 0x02: it never reaches the bus), and their words
// must decode (else 0x03). What passes is a BusRequest.
Answer write(std::span<const std::uint8_t> frame, std::uint8_t function,
             const std::shared_ptr<const RegisterCache>& cache, std::vector<std::uint8_t>& out) {
  const auto pdu = frame.subspan(kMbapHeaderBytes);
  const auto bad_value = [&] {
    return refuse(frame, function, ModbusException::kIllegalDataValue, out);
  };
  if (pdu.size() < 5) return bad_value();
  const auto start = be16(pdu, 1);
  std::array<std::uint16_t, kMaxWriteBits> words{};
  std::uint16_t quantity = 1;
  const bool coils = function == 5 || function == 15;
  if (function == 5 || function == 6) {
    if (pdu.size() != 5) return bad_value();
    const auto value = be16(pdu, 3);
    if (function == 5 && value != 0xFF00 && value != 0x0000) return bad_value();
    words[0] = function == 5 ? static_cast<std::uint16_t>(value != 0) : value;
  } else {
    if (pdu.size() < 6) return bad_value();
    quantity = be16(pdu, 3);
    const std::size_t bytes = pdu[5];
    const std::size_t needed = coils ? (quantity + 7U) / 8U : quantity * 2U;
    if (quantity == 0 || quantity > (coils ? kMaxWriteBits : kMaxWriteRegisters) ||
        bytes != needed || pdu.size() != 6 + bytes) {
      return bad_value();
    }
    for (std::size_t i = 0; i < quantity; ++i) {
      words[i] = coils ? static_cast<std::uint16_t>((pdu[6 + i / 8] >> (i % 8)) & 1U)
                       : be16(pdu, 6 + 2 * i);
    }
  }
  if (static_cast<std::uint32_t>(start) + quantity > 0x10000U) {
    return refuse(frame, function, ModbusException::kIllegalDataAddress, out);
  }
  const auto table = coils ? RegisterTable::kCoils : RegisterTable::kHolding;
  const auto* point = cache->writable_at(table, start, quantity);
  if (point == nullptr) return refuse(frame, function, ModbusException::kIllegalDataAddress, out);
  Value value = point->decode(std::span<const std::uint16_t>(words.data(), quantity));
  if (std::holds_alternative<std::monostate>(value)) return bad_value();
  out.clear();
  Answer answer{function, ModbusException::kNone, std::nullopt, std::nullopt};
  answer.bus = BusRequest{BusRequest::Kind::kWrite, cache, table, start, quantity, point->point,
                          std::move(value)};
  return answer;
}

Answer read(std::span<const std::uint8_t> frame, std::uint8_t function, RegisterTable table,
            const std::shared_ptr<const RegisterCache>& cache, const ServedUnits& units,
            drivers::Clock::time_point now, std::vector<std::uint8_t>& out) {
  const auto pdu = frame.subspan(kMbapHeaderBytes);
  if (pdu.size() != 5) return refuse(frame, function, ModbusException::kIllegalDataValue, out);
  const auto start = be16(pdu, 1);
  const auto quantity = be16(pdu, 3);
  const bool bits = table == RegisterTable::kCoils || table == RegisterTable::kDiscreteInputs;
  if (quantity == 0 || quantity > (bits ? kMaxReadBits : kMaxReadRegisters)) {
    return refuse(frame, function, ModbusException::kIllegalDataValue, out);
  }
  if (static_cast<std::uint32_t>(start) + quantity > 0x10000U) {
    return refuse(frame, function, ModbusException::kIllegalDataAddress, out);
  }
  std::array<std::uint16_t, kMaxReadBits> words{};
  const std::span<std::uint16_t> values(words.data(), quantity);
  const auto lookup = cache->read(table, start, values, now, units.max_age);
  if (lookup != RegisterCache::Lookup::kHit && units.passthrough) {
    out.clear();
    Answer answer{function, ModbusException::kNone, lookup, std::nullopt};
    answer.bus = BusRequest{BusRequest::Kind::kRead, cache, table, start, quantity, {}, {}};
    return answer;
  }
  if (lookup != RegisterCache::Lookup::kHit) {
    return refuse(frame, function, ModbusException::kIllegalDataAddress, out, lookup);
  }
  read_response(frame, values, out);
  return {function, ModbusException::kNone, lookup, std::nullopt};
}

}  // namespace

FrameCheck check_frame(std::span<const std::uint8_t> received) noexcept {
  if (received.size() < kMbapHeaderBytes) {
    // A wrong protocol id is refused as soon as it is there, not after the rest.
    if (received.size() >= 4 && be16(received, 2) != 0) {
      return {FrameCheck::Kind::kBad, 0, "protocol id is not 0 (not Modbus)"};
    }
    return {};
  }
  if (be16(received, 2) != 0) {
    return {FrameCheck::Kind::kBad, 0, "protocol id is not 0 (not Modbus)"};
  }
  const std::size_t length = be16(received, 4);
  if (length < kMinLength || length > kMaxLength) {
    return {FrameCheck::Kind::kBad, 0, "length field outside 2..254"};
  }
  const std::size_t size = 6 + length;
  if (received.size() < size) return {};
  return {FrameCheck::Kind::kFrame, size, ""};
}

Answer answer_request(std::span<const std::uint8_t> frame, const ServedUnits& units,
                      drivers::Clock::time_point now, std::vector<std::uint8_t>& out) {
  const std::uint8_t function = frame[kMbapHeaderBytes];
  const auto& cache = units.by_unit[frame[6]];
  if (!cache) return refuse(frame, function, ModbusException::kGatewayPathUnavailable, out);
  if (const auto table = read_table(function)) {
    return read(frame, function, *table, cache, units, now, out);
  }
  if (is_write(function)) return write(frame, function, cache, out);
  return refuse(frame, function, ModbusException::kIllegalFunction, out);
}

void exception_response(std::span<const std::uint8_t> frame, ModbusException code,
                        std::vector<std::uint8_t>& out) {
  (void)refuse(frame, frame[kMbapHeaderBytes], code, out);
}

void write_response(std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out) {
  // FC5/6 echo the request; FC15/16 answer its address and quantity: the
  // first five bytes of the PDU either way.
  begin(frame, out);
  const auto pdu = frame.subspan(kMbapHeaderBytes, 5);
  out.insert(out.end(), pdu.begin(), pdu.end());
  finish(out);
}

void read_response(std::span<const std::uint8_t> frame, std::span<const std::uint16_t> words,
                   std::vector<std::uint8_t>& out) {
  const std::uint8_t function = frame[kMbapHeaderBytes];
  begin(frame, out);
  out.push_back(function);
  if (function == 1 || function == 2) {
    const auto bytes = static_cast<std::uint8_t>((words.size() + 7) / 8);
    out.push_back(bytes);
    const auto first = out.size();
    out.resize(first + bytes, 0);
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (words[i] != 0) out[first + i / 8] |= static_cast<std::uint8_t>(1U << (i % 8));
    }
  } else {
    out.push_back(static_cast<std::uint8_t>(words.size() * 2));
    for (const auto word : words) put16(out, word);
  }
  finish(out);
}

}  // namespace fieldgate::gateway
