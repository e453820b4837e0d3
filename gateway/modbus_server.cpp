#include "gateway/modbus_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"
#include "drivers/register_cache.hpp"
#include "gateway/modbus_server_loop.hpp"

namespace fieldgate::gateway {
namespace {

using SteadyClock = drivers::Clock;

// How often each kind of trouble is logged at most (it is always counted).
constexpr std::chrono::seconds kLogEvery{10};
// After accept() found no file descriptor left, the listening socket rests.
constexpr std::chrono::milliseconds kAcceptPause{100};
constexpr int kBacklog = 128;

std::string errno_text(int err) {
  return std::strerror(err);
}

config::IpAddress address_of(const sockaddr_storage& peer) {
  config::IpAddress a;
  if (peer.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(peer);
    a.v4 = true;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &in.sin_addr, 4);
  } else if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    std::memcpy(a.bytes.data(), &in6.sin6_addr, 16);
    a.v4 = IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr);
  }
  return a;
}

// Binds the listening socket, non-blocking. Start-up: throws.
Fd listen_on(const config::ModbusServerConfig& config, int& port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (config.listen_address.v4) {
    auto& in = reinterpret_cast<sockaddr_in&>(addr);
    in.sin_family = AF_INET;
    in.sin_port = htons(static_cast<std::uint16_t>(config.listen_port));
    std::memcpy(&in.sin_addr, &config.listen_address.bytes[12], 4);
    len = sizeof in;
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(addr);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(static_cast<std::uint16_t>(config.listen_port));
    std::memcpy(&in6.sin6_addr, config.listen_address.bytes.data(), 16);
    len = sizeof in6;
  }
  Fd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error("modbus server: socket: " + errno_text(errno));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    const int err = errno;
    throw std::runtime_error(fmt::format(
        "modbus server: cannot listen on {}: {}{}", config.listen, errno_text(err),
        err == EACCES ? " (a port below 1024 needs CAP_NET_BIND_SERVICE, docs/MODBUS_SERVER.md)"
                      : ""));
  }
  if (::listen(fd.get(), kBacklog) != 0) {
    throw std::runtime_error("modbus server: listen: " + errno_text(errno));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len);
  port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(bound).sin_port
                                          : reinterpret_cast<sockaddr_in6&>(bound).sin6_port);
  return fd;
}

}  // namespace

ModbusServer::Loop::Loop(config::ModbusServerConfig c, Fd listening)
    : config(std::move(c)),
      listen_fd(std::move(listening)),
      wake_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd.get() < 0) throw std::runtime_error("modbus server: eventfd: " + errno_text(errno));
}

void ModbusServer::Loop::note(const char* kind, const std::string& line) {
  const auto now = SteadyClock::now();
  auto it = last_logged.find(kind);
  if (it != last_logged.end() && now - it->second < kLogEvery) return;
  last_logged[kind] = now;
  spdlog::warn("modbus server: {} (logged at most every {}s; see the stats for counts)", line,
               kLogEvery.count());
}

bool ModbusServer::Loop::allowed(const config::IpAddress& peer) const {
  if (config.allow.empty()) return peer.is_loopback();
  return std::any_of(config.allow.begin(), config.allow.end(),
                     [&](const config::IpNetwork& net) { return net.contains(peer); });
}

void ModbusServer::Loop::accept_clients(SteadyClock::time_point now) {
  // A bounded number per turn: a flood must not starve the clients' answers.
  for (int i = 0; i < kBacklog; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    Fd fd(::accept4(listen_fd.get(), reinterpret_cast<sockaddr*>(&peer), &len,
                    SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd.get() < 0) {
      const int err = errno;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        accept_paused_until = now + kAcceptPause;
        note("accept", "accept: " + errno_text(err));
      }
      return;  // EAGAIN: none left; ECONNABORTED and the like: next turn
    }
    const auto address = address_of(peer);
    const std::scoped_lock lock(mutex);
    if (!allowed(address)) {
      ++stats.refused;
      note("refused", "refused a connection from " + config::to_string(address) +
                          " (not in modbus_server.allow)");
      continue;  // closed by Fd
    }
    if (clients.size() >= static_cast<std::size_t>(config.max_clients)) {
      ++stats.over_limit;
      note("over_limit", fmt::format("closed a connection from {}: max_clients ({}) reached",
                                     config::to_string(address), config.max_clients));
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto& client = clients.emplace_back();
    client.id = next_client_id++;
    client.fd = std::move(fd);
    client.peer = config::to_string(address);
    client.last_activity = now;
    ++stats.accepted;
    stats.clients = clients.size();
  }
}

bool ModbusServer::Loop::write_to(Client& client) {
  while (client.out_sent < client.out.size()) {
    const auto n = ::send(client.fd.get(), client.out.data() + client.out_sent,
                          client.out.size() - client.out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    client.out_sent += static_cast<std::size_t>(n);
  }
  client.out.clear();
  client.out_sent = 0;
  return true;
}

bool ModbusServer::Loop::answer_frames(Client& client, SteadyClock::time_point now) {
  // One response waits at a time: a client that does not read its answers
  // stops being read (its own socket fills), never costing memory.
  while (client.out.empty() && !client.waiting && client.in_size > 0) {
    const auto check = check_frame(std::span(client.in.data(), client.in_size));
    if (check.kind == FrameCheck::Kind::kNeedMore) return true;
    if (check.kind == FrameCheck::Kind::kBad) {
      const std::scoped_lock lock(mutex);
      ++stats.closed_bad_frame;
      note("bad_frame", fmt::format("closed {}: {}", client.peer, check.reason));
      return false;
    }
    std::shared_ptr<const ServedUnits> served;
    {
      const std::scoped_lock lock(mutex);
      served = units;
    }
    const std::span<const std::uint8_t> frame(client.in.data(), check.size);
    auto answer = answer_request(frame, *served, now, response);
    {
      const std::scoped_lock lock(mutex);
      stats.count(answer);
    }
    if (answer.bus) {
      dispatch(client, frame, std::move(*answer.bus), now);
    } else {
      client.out.assign(response.begin(), response.end());
    }
    std::memmove(client.in.data(), client.in.data() + check.size, client.in_size - check.size);
    client.in_size -= check.size;
    client.frame_started = now;
    if (!client.out.empty() && !write_to(client)) return false;
  }
  return true;
}

bool ModbusServer::Loop::read_from(Client& client, SteadyClock::time_point now) {
  if (!client.out.empty() || client.waiting) return true;  // answer first
  const auto room = client.in.size() - client.in_size;
  if (room == 0) return true;  // cannot be: a full buffer always holds a frame or a bad one
  const auto n = ::recv(client.fd.get(), client.in.data() + client.in_size, room, MSG_DONTWAIT);
  if (n == 0) return false;  // closed by the client
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (client.in_size == 0) client.frame_started = now;
  client.in_size += static_cast<std::size_t>(n);
  client.last_activity = now;
  return answer_frames(client, now);
}

void ModbusServer::Loop::turn() {
  auto now = SteadyClock::now();
  // Deadlines: idle clients, frames not finished in time; the next one bounds the wait.
  auto next = now + std::chrono::seconds(1);
  for (auto it = clients.begin(); it != clients.end();) {
    if (it->waiting) {
      // Not idle while its answer is on a bus; the guard against one that never comes.
      const auto limit_at = it->waiting_since + kBusAnswerLimit;
      if (now < limit_at) {
        next = std::min(next, limit_at);
        ++it;
        continue;
      }
      const std::scoped_lock lock(mutex);
      note("bus_answer", fmt::format("closed {}: no answer from the bus within {} min", it->peer,
                                     kBusAnswerLimit.count()));
      it = clients.erase(it);
      stats.clients = clients.size();
      continue;
    }
    const auto idle_at = it->last_activity + config.idle_timeout;
    const auto frame_at = it->frame_started + kFrameTimeout;
    // A client that leaves half a frame is a bad frame, whichever limit ends it.
    const bool frame_late = it->in_size > 0 && (now >= frame_at || now >= idle_at);
    if (now >= idle_at || frame_late) {
      const std::scoped_lock lock(mutex);
      if (frame_late) {
        ++stats.closed_bad_frame;
        note("slow_frame", fmt::format("closed {}: half a frame, not finished within {}s or "
                                       "before idle_timeout",
                                       it->peer, kFrameTimeout.count()));
      } else {
        ++stats.closed_idle;
      }
      it = clients.erase(it);
      stats.clients = clients.size();
      continue;
    }
    next = std::min(next, idle_at);
    if (it->in_size > 0) next = std::min(next, frame_at);
    ++it;
  }

  fds.clear();
  fds.push_back({wake_fd.get(), POLLIN, 0});
  const bool accepting = now >= accept_paused_until;
  fds.push_back({accepting ? listen_fd.get() : -1, POLLIN, 0});
  fds.push_back({bus_answers->wake_fd(), POLLIN, 0});
  constexpr std::size_t kFirstClient = 3;
  if (!accepting) next = std::min(next, accept_paused_until);
  for (const auto& client : clients) {
    // A client waiting for a bus is not read; that it left (its FIN) still shows.
    const short events = client.waiting ? POLLRDHUP : client.out.empty() ? POLLIN : POLLOUT;
    fds.push_back({client.fd.get(), events, 0});
  }
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait, 0)));
  if (ready <= 0) return;  // timeout or EINTR: the deadlines are looked at again
  now = SteadyClock::now();

  std::size_t index = kFirstClient;
  for (auto it = clients.begin(); it != clients.end(); ++index) {
    const auto revents = fds[index].revents;
    // An error, or a hang-up while an answer waits to be written: nothing more will pass.
    // A client that left while its request is on a bus is closed now; the
    // request runs to its end and its answer is dropped (counted).
    bool keep = (revents & (POLLERR | POLLNVAL)) == 0 &&
                ((revents & POLLHUP) == 0 || (it->out.empty() && !it->waiting)) &&
                (!it->waiting || (revents & POLLRDHUP) == 0);
    if (keep && (revents & POLLOUT) != 0) keep = write_to(*it) && answer_frames(*it, now);
    if (keep && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) keep = read_from(*it, now);
    if (keep) {
      ++it;
      continue;
    }
    const std::scoped_lock lock(mutex);
    it = clients.erase(it);
    stats.clients = clients.size();
  }
  // After the clients: their fds were indexed before any new one was added or removed.
  if ((fds[2].revents & POLLIN) != 0) deliver_bus_answers(now);
  if (accepting && (fds[1].revents & POLLIN) != 0) accept_clients(now);
}

void ModbusServer::Loop::run() noexcept {
  try {
    while (!stopping.load()) turn();
  } catch (const std::exception& e) {
    // Nothing in a turn throws but allocation failure; a server that stops
    // must say so, not take the gateway down with it.
    spdlog::error("modbus server stopped: {}", e.what());
  } catch (...) {
    spdlog::error("modbus server stopped: unknown error");
  }
  const std::scoped_lock lock(mutex);
  clients.clear();
  stats.clients = 0;
}

ModbusServer::ModbusServer(config::ModbusServerConfig config) {
  auto fd = listen_on(config, port_);
  loop_ = std::make_unique<Loop>(std::move(config), std::move(fd));
}

ModbusServer::~ModbusServer() {
  loop_->stop();
  if (thread_.joinable()) thread_.join();
}

void ModbusServer::start() {
  thread_ = std::thread([loop = loop_.get()] {
    name_this_thread("modbus-server");
    loop->run();
  });
  spdlog::info("modbus server listening on {} (port {})", loop_->config.listen, port_);
}

void ModbusServer::set_bus(ModbusServerBus bus) {
  const std::scoped_lock lock(loop_->mutex);
  loop_->bus = std::move(bus);
}

void ModbusServer::set_units(std::shared_ptr<const ServedUnits> units) {
  const std::scoped_lock lock(loop_->mutex);
  loop_->units = units ? std::move(units) : std::make_shared<ServedUnits>();
}

ModbusServerStats ModbusServer::stats() const {
  const std::scoped_lock lock(loop_->mutex);
  return loop_->stats;
}

}  // namespace fieldgate::gateway
