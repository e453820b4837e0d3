#include "tests/support/scripted_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <stdexcept>

namespace fieldgate::testing {
namespace {

/// Reads exactly n bytes, waiting at most 100 ms at a time while `stop` is false.
bool read_exact(int fd, std::uint8_t* out, std::size_t n, const std::atomic<bool>& stop) {
  std::size_t got = 0;
  while (got < n) {
    if (stop) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const auto r = ::read(fd, out + got, n - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

void write_all(int fd, const Bytes& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto w = ::write(fd, bytes.data() + sent, bytes.size() - sent);
    if (w <= 0) return;
    sent += static_cast<std::size_t>(w);
  }
}

}  // namespace

std::uint16_t modbus_crc(const Bytes& data) {
  std::uint16_t crc = 0xFFFF;
  for (auto byte : data) {
    crc ^= byte;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001) : crc >> 1;
  }
  return crc;
}

Bytes rtu_frame(std::uint8_t unit, const Bytes& pdu) {
  Bytes frame{unit};
  frame.insert(frame.end(), pdu.begin(), pdu.end());
  const auto crc = modbus_crc(frame);
  frame.push_back(static_cast<std::uint8_t>(crc & 0xFF));
  frame.push_back(static_cast<std::uint8_t>(crc >> 8));
  return frame;
}

Bytes tcp_frame(const Bytes& request, const Bytes& pdu) {
  const auto length = static_cast<std::uint16_t>(pdu.size() + 1);
  Bytes frame{request.at(0),
              request.at(1),
              0,
              0,
              static_cast<std::uint8_t>(length >> 8),
              static_cast<std::uint8_t>(length & 0xFF),
              request.at(6)};
  frame.insert(frame.end(), pdu.begin(), pdu.end());
  return frame;
}

Bytes registers_pdu(std::uint8_t function, const std::vector<std::uint16_t>& values) {
  Bytes pdu{function, static_cast<std::uint8_t>(values.size() * 2)};
  for (auto v : values) {
    pdu.push_back(static_cast<std::uint8_t>(v >> 8));
    pdu.push_back(static_cast<std::uint8_t>(v & 0xFF));
  }
  return pdu;
}

ScriptedTcpPeer::ScriptedTcpPeer(Responder responder) : responder_(std::move(responder)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 4) != 0) {
    throw std::runtime_error("scripted peer: cannot listen");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedTcpPeer::~ScriptedTcpPeer() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

void ScriptedTcpPeer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    bool open = true;
    while (open && !stop_) {
      Bytes request(7);
      if (!read_exact(fd, request.data(), 7, stop_)) break;
      const std::size_t length = (request[4] << 8) | request[5];
      request.resize(6 + length);
      if (length < 1 || !read_exact(fd, request.data() + 7, length - 1, stop_)) break;
      const auto response = responder_(request, requests_++);
      switch (response.action) {
        case Response::Action::kSend:
          write_all(fd, response.bytes);
          break;
        case Response::Action::kReset: {
          linger hard{1, 0};  // close with RST, as a crashing device or NAT box does
          setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
          open = false;
          break;
        }
        case Response::Action::kSilence:
          break;
      }
    }
    close(fd);
  }
}

ScriptedRtuPeer::ScriptedRtuPeer(const std::string& tty, Responder responder)
    : responder_(std::move(responder)) {
  fd_ = open(tty.c_str(), O_RDWR | O_NOCTTY);
  if (fd_ < 0) throw std::runtime_error("scripted peer: cannot open " + tty);
  termios t{};
  tcgetattr(fd_, &t);
  cfmakeraw(&t);
  tcsetattr(fd_, TCSANOW, &t);
  thread_ = std::thread([this] { serve(); });
}

ScriptedRtuPeer::~ScriptedRtuPeer() {
  stop_ = true;
  thread_.join();
  close(fd_);
}

void ScriptedRtuPeer::serve() {
  while (!stop_) {
    Bytes request(8);
    if (!read_exact(fd_, request.data(), 8, stop_)) continue;
    const auto response = responder_(request, requests_++);
    if (response.action == Response::Action::kSend) write_all(fd_, response.bytes);
  }
}

}  // namespace fieldgate::testing
