#include "drivers/modbus/device_id.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <fmt/format.h>
#include <modbus/modbus.h>

#include "drivers/modbus/link.hpp"

namespace fieldgate::modbus {
namespace {

constexpr std::uint8_t kFunction = 0x2B;
constexpr std::uint8_t kMeiDeviceId = 0x0E;
constexpr std::uint8_t kReadBasic = 0x01;
constexpr std::size_t kMaxAdu = 260;  // MBAP (7) + the largest PDU (253)
// On RTU the end of a frame is silence; 20 ms is longer than t3.5 at any
// baud from 2400 up, and short next to a request's timeout.
constexpr auto kRtuEndOfFrame = std::chrono::milliseconds(20);

std::string printable(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (const std::uint8_t b : bytes) {
    if (out.size() >= kMaxIdentificationText) break;
    out.push_back(b >= 0x20 && b < 0x7F ? static_cast<char>(b) : '?');
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Reads what arrives on `fd` until `complete` says the frame is whole, the
// line goes quiet (RTU) or the deadline passes. Bounded by kMaxAdu bytes.
std::vector<std::uint8_t> receive(int fd, bool rtu, std::chrono::milliseconds timeout) {
  std::vector<std::uint8_t> in;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in.size() < kMaxAdu) {
    const auto now = std::chrono::steady_clock::now();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (rtu && !in.empty()) wait = kRtuEndOfFrame;
    if (wait.count() <= 0) break;
    if (!rtu && in.size() >= 7) {
      const std::size_t length = (std::size_t{in[4]} << 8) | in[5];
      if (in.size() >= 6 + length) break;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    std::array<std::uint8_t, 64> chunk{};
    const ssize_t n = ::read(fd, chunk.data(), std::min(chunk.size(), kMaxAdu - in.size()));
    if (n <= 0) break;
    in.insert(in.end(), chunk.begin(), chunk.begin() + n);
  }
  return in;
}

}  // namespace

std::uint16_t modbus_crc16(std::span<const std::uint8_t> bytes) noexcept {
  std::uint16_t crc = 0xFFFF;
  for (const std::uint8_t b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1;
  }
  return crc;
}

std::optional<DeviceIdentification> parse_device_identification(std::span<const std::uint8_t> pdu,
                                                                std::string& error) {
  if (pdu.empty()) {
    error = "empty answer";
    return std::nullopt;
  }
  if (pdu[0] == (kFunction | 0x80)) {
    error = pdu.size() >= 2 ? fmt::format("not supported (exception {})", pdu[1])
                            : std::string("not supported");
    return std::nullopt;
  }
  if (pdu.size() < 7 || pdu[0] != kFunction || pdu[1] != kMeiDeviceId) {
    error = "not an answer to 43/14";
    return std::nullopt;
  }
  const int count = pdu[6];
  if (count > kMaxIdentificationObjects) {
    error = fmt::format("{} objects, more than {}", count, kMaxIdentificationObjects);
    return std::nullopt;
  }
  DeviceIdentification id;
  std::size_t at = 7;
  for (int i = 0; i < count; ++i) {
    if (at + 2 > pdu.size()) {
      error = fmt::format("object {} of {} is missing", i + 1, count);
      return std::nullopt;
    }
    const int object = pdu[at];
    const std::size_t length = pdu[at + 1];
    if (at + 2 + length > pdu.size()) {
      error = fmt::format("object {} ({} bytes) overruns the answer", object, length);
      return std::nullopt;
    }
    std::string text = printable(pdu.subspan(at + 2, length));
    if (object == 0) id.vendor = text;
    if (object == 1) id.product_code = text;
    if (object == 2) id.revision = text;
    id.objects.emplace_back(object, std::move(text));
    at += 2 + length;
  }
  if (std::all_of(id.objects.begin(), id.objects.end(),
                  [](const auto& o) { return o.second.empty(); })) {
    error = "no objects with text";
    return std::nullopt;
  }
  return id;
}

std::optional<DeviceIdentification> read_device_identification(ModbusLink& link, int unit,
                                                               std::chrono::milliseconds timeout,
                                                               std::string& error) {
  modbus_t* ctx = link.context();
  const bool rtu = link.is_serial();
  link.begin_transaction(unit, timeout, timeout);
  const std::array<std::uint8_t, 5> request{static_cast<std::uint8_t>(unit), kFunction,
                                            kMeiDeviceId, kReadBasic, 0x00};
  if (modbus_send_raw_request(ctx, request.data(), static_cast<int>(request.size())) < 0) {
    link.end_transaction();
    error = fmt::format("cannot send: {}", modbus_strerror(errno));
    return std::nullopt;
  }
  const std::vector<std::uint8_t> adu = receive(modbus_get_socket(ctx), rtu, timeout);
  link.end_transaction();
  const std::span<const std::uint8_t> in(adu);
  std::span<const std::uint8_t> pdu;
  if (adu.empty()) {
    error = "no answer";
    return std::nullopt;
  }
  if (rtu) {
    if (adu.size() < 4 || adu[0] != unit ||
        modbus_crc16(in.first(adu.size() - 2)) !=
            (adu[adu.size() - 2] | (std::uint16_t{adu[adu.size() - 1]} << 8))) {
      link.flush();
      error = "garbled answer (bad frame or CRC)";
      return std::nullopt;
    }
    pdu = in.subspan(1, adu.size() - 3);
  } else {
    const std::size_t length = adu.size() >= 7 ? ((std::size_t{adu[4]} << 8) | adu[5]) : 0;
    if (adu.size() < 8 || length < 2 || adu.size() != 6 + length || adu[2] != 0 || adu[3] != 0) {
      link.flush();
      error = "garbled answer (bad MBAP header)";
      return std::nullopt;
    }
    pdu = in.subspan(7);
  }
  return parse_device_identification(pdu, error);
}

}  // namespace fieldgate::modbus
