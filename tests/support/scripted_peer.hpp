// Test support: Modbus peers that misbehave on purpose. Each answers every
// request with whatever a test's responder returns, byte for byte, so tests
// can send exceptions, wrong lengths, CRC errors, truncated frames and resets.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace fieldgate::testing {

using Bytes = std::vector<std::uint8_t>;

/// What the peer does with one request.
struct Response {
  enum class Action { kSend, kReset, kSilence };
  Action action = Action::kSend;
  Bytes bytes;  // for kSend (may be a partial or malformed frame)
};

/// Given the whole request frame (MBAP header + PDU for TCP, address + PDU +
/// CRC for RTU) and its index (0, 1, ...), decides the response.
using Responder = std::function<Response(const Bytes& request, int index)>;

/// CRC-16/MODBUS of `data`, appended low byte first by rtu_frame().
std::uint16_t modbus_crc(const Bytes& data);
/// unit + pdu + CRC.
Bytes rtu_frame(std::uint8_t unit, const Bytes& pdu);
/// MBAP header (copying the request's transaction id) + unit + pdu.
Bytes tcp_frame(const Bytes& request, const Bytes& pdu);
/// A well-formed read-registers response PDU for `values`.
Bytes registers_pdu(std::uint8_t function, const std::vector<std::uint16_t>& values);

/// A Modbus TCP peer on 127.0.0.1 (ephemeral port), one connection at a time.
class ScriptedTcpPeer {
 public:
  explicit ScriptedTcpPeer(Responder responder);
  ~ScriptedTcpPeer();
  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] int requests() const noexcept { return requests_; }

 private:
  void serve();
  Responder responder_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

/// A Modbus RTU peer on one end of a pty pair; requests are read as 8-byte
/// frames (every read function).
class ScriptedRtuPeer {
 public:
  ScriptedRtuPeer(const std::string& tty, Responder responder);
  ~ScriptedRtuPeer();
  [[nodiscard]] int requests() const noexcept { return requests_; }

 private:
  void serve();
  Responder responder_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace fieldgate::testing
