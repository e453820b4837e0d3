#include "bench/register_bank.hpp"

#include <arpa/inet.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace fieldgate::bench {
namespace {

constexpr int kTableSize = 10000;

struct ModbusFree {
  void operator()(modbus_t* ctx) const noexcept { modbus_free(ctx); }
};
struct MappingFree {
  void operator()(modbus_mapping_t* m) const noexcept { modbus_mapping_free(m); }
};

}  // namespace

RegisterBank::RegisterBank() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error("register bank: socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 4) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listener_);
    throw std::runtime_error("register bank: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

RegisterBank::~RegisterBank() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listener_);
}

void RegisterBank::run() {
  std::unique_ptr<modbus_t, ModbusFree> ctx(modbus_new_tcp("127.0.0.1", port_));
  std::unique_ptr<modbus_mapping_t, MappingFree> map(
      modbus_mapping_new(kTableSize, kTableSize, kTableSize, kTableSize));
  if (!ctx || !map) return;
  std::vector<int> clients;
  while (!stop_) {
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (int c : clients) fds.push_back({c, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    std::vector<int> kept;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (fds[i + 1].revents == 0) {
        kept.push_back(clients[i]);
        continue;
      }
      modbus_set_socket(ctx.get(), clients[i]);
      std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
      const int rc = modbus_receive(ctx.get(), query);
      if (rc > 0 && modbus_reply(ctx.get(), query, rc, map.get()) > 0) {
        served_.fetch_add(1);
        kept.push_back(clients[i]);
      } else if (rc == 0) {
        kept.push_back(clients[i]);
      } else {
        ::close(clients[i]);
      }
    }
    clients = std::move(kept);
    if ((fds[0].revents & POLLIN) != 0) {
      const int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) clients.push_back(c);
    }
  }
  modbus_set_socket(ctx.get(), -1);
  for (int c : clients) ::close(c);
}

}  // namespace fieldgate::bench
