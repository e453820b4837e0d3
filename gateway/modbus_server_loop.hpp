// The Modbus server's thread state (gateway/modbus_server.hpp), shared by its
// two source files: modbus_server.cpp (sockets, framing, the poll loop) and
// modbus_server_bus.cpp (requests the caches cannot answer, sent to the
// devices' bus workers, and their answers coming back). Internal: only
// those two files include it.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/modbus_server.hpp"

namespace fieldgate::gateway {

/// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

/// The answer to a request that went to a bus, for the client that sent it.
struct BusAnswer {
  enum class Kind { kWriteOk, kWriteRefused, kWriteFailed, kReadOk, kReadFailed, kBusy };
  std::uint64_t client = 0;  // Loop::Client::id
  Kind kind = Kind::kReadFailed;
  std::vector<std::uint8_t> response;  // the whole frame to send
};

/// Answers posted by the bus workers (and the command router), taken by the
/// server's thread. Shared with every request in flight, so a worker
/// finishing after the server stopped posts into this, never into freed memory.
class BusAnswers {
 public:
  BusAnswers();
  /// From any thread; wakes the server. Never throws (an answer that cannot
  /// be kept for lack of memory is logged; its client is closed by the server
  /// when its wait exceeds kBusAnswerLimit).
  void post(BusAnswer answer) noexcept;
  /// The answers posted since the last call (server thread).
  [[nodiscard]] std::vector<BusAnswer> take();
  /// Readable while answers wait.
  [[nodiscard]] int wake_fd() const noexcept { return wake_.get(); }

 private:
  Fd wake_;
  std::mutex mutex_;
  std::vector<BusAnswer> answers_;
};

struct ModbusServer::Loop {
  using SteadyClock = drivers::Clock;

  struct Client {
    std::uint64_t id = 0;  // never reused: a late bus answer finds its client or none
    Fd fd;
    std::string peer;
    std::array<std::uint8_t, kMaxModbusFrame> in{};
    std::size_t in_size = 0;
    std::vector<std::uint8_t> out;  // a response not yet written whole
    std::size_t out_sent = 0;
    bool waiting = false;  // a request of this client is on a bus: nothing else is read
    SteadyClock::time_point waiting_since{};
    SteadyClock::time_point last_activity;
    SteadyClock::time_point frame_started;  // of the bytes in `in`
  };

  Loop(config::ModbusServerConfig c, Fd listening);

  void run() noexcept;
  void turn();
  void accept_clients(SteadyClock::time_point now);
  bool allowed(const config::IpAddress& peer) const;
  /// False when the client is to be closed.
  bool read_from(Client& client, SteadyClock::time_point now);
  bool write_to(Client& client);
  bool answer_frames(Client& client, SteadyClock::time_point now);
  /// Sends a request the caches cannot answer to its device's bus (or
  /// answers it with an exception into client.out when it cannot go).
  void dispatch(Client& client, std::span<const std::uint8_t> frame, BusRequest request,
                SteadyClock::time_point now);
  /// Hands the bus answers to their clients (those still connected).
  void deliver_bus_answers(SteadyClock::time_point now);
  void note(const char* kind, const std::string& line);
  void stop() {
    stopping.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd.get(), &one, sizeof one);
  }

  const config::ModbusServerConfig config;
  Fd listen_fd;
  Fd wake_fd;
  std::shared_ptr<BusAnswers> bus_answers = std::make_shared<BusAnswers>();
  std::atomic<bool> stopping{false};
  std::list<Client> clients;  // stable addresses while polled
  std::uint64_t next_client_id = 1;
  std::size_t in_flight = 0;  // requests on a bus, all clients (server thread)
  SteadyClock::time_point accept_paused_until{};
  std::map<std::string, SteadyClock::time_point, std::less<>> last_logged;  // by kind: few keys
  std::vector<pollfd> fds;
  std::vector<std::uint8_t> response;

  mutable std::mutex mutex;  // guards units, bus and stats
  std::shared_ptr<const ServedUnits> units = std::make_shared<ServedUnits>();
  ModbusServerBus bus;
  ModbusServerStats stats;
};

}  // namespace fieldgate::gateway
