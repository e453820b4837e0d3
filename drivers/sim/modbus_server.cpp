// Modbus TCP and RTU servers over libmodbus, serving a simulated device.
//
// Design notes.
// 1. One thread does everything: wait for a request (poll() on TCP, the
//    indication timeout on RTU, both at most kTick), answer it with
//    modbus_reply() straight from the modbus_mapping_t, and every kTick of
//    wall time advance the model and copy it into the mapping. No locks.
// 2. Table sizes come from the model's rendered image, so a read past the map
//    gets ILLEGAL DATA ADDRESS from libmodbus, as from a real meter.
// 3. Writes to coils and holding registers are accepted (modbus_reply stores
//    them) and stick: after each reply the writable tables are compared with
//    the last rendered image, and a register a client changed is no longer
//    refreshed from the model. No protocol parsing needed, and it matches
//    exactly what libmodbus accepted.
// 4. RTU unit-id filtering is libmodbus's: modbus_receive() returns 0 for a
//    frame addressed to another unit, and the next call then swallows that
//    unit's reply (the "confirmation to ignore"), waiting at most the response
//    timeout for it. We set that window to kForeignReplyWindow.
// 5. TCP ignores the unit id, as most TCP devices do.
#include "drivers/sim/modbus_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <span>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/unique_fd.hpp"
#include "drivers/sim/device_model.hpp"

namespace fieldgate::sim {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kTick = 100ms;                // model step and stop-flag check period
constexpr auto kForeignReplyWindow = 100ms;  // see design note 4
constexpr int kListenBacklog = 16;
constexpr std::size_t kMaxTcpClients = 32;

struct ModbusFree {
  void operator()(modbus_t* ctx) const noexcept { modbus_free(ctx); }
};
// For contexts opened with modbus_connect(): restores the serial settings and
// closes the port before freeing.
struct ModbusCloseFree {
  void operator()(modbus_t* ctx) const noexcept {
    modbus_close(ctx);
    modbus_free(ctx);
  }
};
struct MappingFree {
  void operator()(modbus_mapping_t* m) const noexcept { modbus_mapping_free(m); }
};
using MappingPtr = std::unique_ptr<modbus_mapping_t, MappingFree>;

timeval to_timeval(std::chrono::microseconds d) {
  return {static_cast<time_t>(d.count() / 1'000'000),
          static_cast<suseconds_t>(d.count() % 1'000'000)};
}

// The simulated device as libmodbus sees it: the model, its last rendered
// image, and the modbus_mapping_t that modbus_reply() reads and writes.
class SimulatedDevice {
 public:
  SimulatedDevice(const std::string& profile, int min_holding)
      : model_(make_device_model(profile)),
        min_holding_(static_cast<std::size_t>(std::max(min_holding, 0))),
        last_step_(Clock::now()) {
    render();
    mapping_.reset(modbus_mapping_new(
        static_cast<int>(image_.coils.size()), static_cast<int>(image_.discrete_inputs.size()),
        static_cast<int>(image_.holding.size()), static_cast<int>(image_.input.size())));
    if (!mapping_) throw std::runtime_error("cannot allocate the Modbus register map");
    coil_written_.assign(image_.coils.size(), false);
    holding_written_.assign(image_.holding.size(), false);
    publish();
  }

  [[nodiscard]] modbus_mapping_t* mapping() const noexcept { return mapping_.get(); }

  // Steps the model by the wall time elapsed, at most once per kTick.
  void advance(Clock::time_point now) {
    const auto elapsed = now - last_step_;
    if (elapsed < kTick) return;
    model_->step(std::chrono::duration<double>(elapsed).count());
    last_step_ = now;
    render();
    publish();
  }

  // Call after every modbus_reply(): remembers which writable registers a
  // client has changed, so publish() leaves them alone (design note 3).
  void note_client_writes() noexcept {
    const std::span coils(mapping_->tab_bits, image_.coils.size());
    for (std::size_t i = 0; i < coils.size(); ++i) {
      if (coils[i] != image_.coils[i]) coil_written_[i] = true;
    }
    const std::span holding(mapping_->tab_registers, image_.holding.size());
    for (std::size_t i = 0; i < holding.size(); ++i) {
      if (holding[i] != image_.holding[i]) holding_written_[i] = true;
    }
  }

 private:
  // The model's image, its holding table padded to min_holding_ registers.
  void render() {
    model_->render(image_);
    for (std::size_t i = image_.holding.size(); i < min_holding_; ++i) {
      image_.holding.push_back(static_cast<std::uint16_t>(i));
    }
  }

  void publish() noexcept {
    const std::span coils(mapping_->tab_bits, image_.coils.size());
    for (std::size_t i = 0; i < coils.size(); ++i) {
      if (!coil_written_[i]) coils[i] = image_.coils[i];
    }
    const std::span holding(mapping_->tab_registers, image_.holding.size());
    for (std::size_t i = 0; i < holding.size(); ++i) {
      if (!holding_written_[i]) holding[i] = image_.holding[i];
    }
    std::copy(image_.discrete_inputs.begin(), image_.discrete_inputs.end(),
              mapping_->tab_input_bits);
    std::copy(image_.input.begin(), image_.input.end(), mapping_->tab_input_registers);
  }

  std::unique_ptr<DeviceModel> model_;  // the profile's
  std::size_t min_holding_;
  RegisterImage image_;
  MappingPtr mapping_;
  std::vector<bool> coil_written_;
  std::vector<bool> holding_written_;
  Clock::time_point last_step_;
};

class TcpSimServer final : public ModbusSimServer {
 public:
  TcpSimServer(const TcpServerOptions& options, const std::string& profile)
      : device_(profile, options.min_holding_registers) {
    const std::string where = fmt::format("{}:{}", options.host, options.port);
    // libmodbus passes the host to inet_addr() without checking it; a name
    // would silently become 255.255.255.255.
    in_addr parsed{};
    if (inet_pton(AF_INET, options.host.c_str(), &parsed) != 1) {
      throw std::runtime_error(fmt::format(
          "cannot listen on {}: \"{}\" is not an IPv4 address (use 127.0.0.1 or 0.0.0.0)", where,
          options.host));
    }
    if (options.port < 0 || options.port > 65535) {
      throw std::runtime_error(fmt::format("cannot listen on {}: port out of range", where));
    }
    ctx_.reset(modbus_new_tcp(options.host.c_str(), options.port));
    if (!ctx_) {
      throw std::runtime_error(
          fmt::format("cannot listen on {}: {}", where, modbus_strerror(errno)));
    }
    listener_ = UniqueFd(modbus_tcp_listen(ctx_.get(), kListenBacklog));
    if (listener_.get() < 0) {
      throw std::runtime_error(
          fmt::format("cannot listen on {}: {}", where, modbus_strerror(errno)));
    }
    // A client that resets between poll() and accept() must not block us.
    const int flags = fcntl(listener_.get(), F_GETFL);
    if (flags >= 0) fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK);

    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    if (getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
      throw std::runtime_error(
          fmt::format("cannot listen on {}: getsockname: {}", where, modbus_strerror(errno)));
    }
    port_ = ntohs(bound.sin_port);
  }

  ~TcpSimServer() override {
    // modbus_free() does not close ctx->s, and our Fds own the sockets anyway.
    if (ctx_) modbus_set_socket(ctx_.get(), -1);
  }

  [[nodiscard]] int port() const noexcept override { return port_; }
  [[nodiscard]] std::uint64_t requests_served() const noexcept override {
    return served_.load(std::memory_order_relaxed);
  }

  void run(const std::atomic<bool>& stop) override {
    std::vector<UniqueFd> clients;
    std::vector<pollfd> fds;
    while (!stop.load()) {
      device_.advance(Clock::now());

      fds.clear();
      fds.push_back({listener_.get(), POLLIN, 0});
      for (const UniqueFd& c : clients) fds.push_back({c.get(), POLLIN, 0});
      const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(kTick.count()));
      if (ready <= 0) continue;  // timeout, or EINTR: go round and check `stop`

      // Clients first: fds[i + 1] belongs to clients[i] only until we accept.
      std::vector<bool> drop(clients.size(), false);
      for (std::size_t i = 0; i < clients.size(); ++i) {
        if (fds[i + 1].revents != 0) drop[i] = !serve_one(clients[i].get());
      }
      std::size_t kept = 0;
      for (std::size_t i = 0; i < clients.size(); ++i) {
        if (!drop[i]) clients[kept++] = std::move(clients[i]);
      }
      clients.resize(kept);

      if ((fds[0].revents & POLLIN) != 0) accept_client(clients);
    }
    modbus_set_socket(ctx_.get(), -1);
  }

 private:
  void accept_client(std::vector<UniqueFd>& clients) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client.get() < 0) return;  // gone already, or out of descriptors: try next time
    if (clients.size() >= kMaxTcpClients) return;  // closes it: a real device refuses too
    const int one = 1;
    setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    clients.push_back(std::move(client));
  }

  // Reads and answers one request; false when the connection must be closed
  // (peer closed it, timed out mid-frame, or sent something unparseable).
  bool serve_one(int fd) {
    modbus_set_socket(ctx_.get(), fd);
    std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    const int rc = modbus_receive(ctx_.get(), query);
    if (rc < 0) return false;
    if (rc == 0) return true;
    // Counted before the reply leaves: a client holding its answer must
    // already see it in requests_served().
    served_.fetch_add(1, std::memory_order_relaxed);
    const int replied = modbus_reply(ctx_.get(), query, rc, device_.mapping());
    device_.note_client_writes();
    if (replied < 0) {
      served_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  SimulatedDevice device_;
  std::unique_ptr<modbus_t, ModbusFree> ctx_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<std::uint64_t> served_{0};
};

class RtuSimServer final : public ModbusSimServer {
 public:
  RtuSimServer(const RtuServerOptions& options, const std::string& profile) : device_(profile, 0) {
    const std::string& dev = options.device;
    if (options.unit_id < 1 || options.unit_id > 247) {
      throw std::runtime_error(
          fmt::format("cannot serve on {}: unit id {} is not in 1..247", dev, options.unit_id));
    }
    if (options.data_bits < 5 || options.data_bits > 8) {
      throw std::runtime_error(
          fmt::format("cannot open {}: data bits {} is not in 5..8", dev, options.data_bits));
    }
    if (options.stop_bits != 1 && options.stop_bits != 2) {
      throw std::runtime_error(
          fmt::format("cannot open {}: stop bits {} is not 1 or 2", dev, options.stop_bits));
    }
    const char parity = options.parity == config::Parity::kEven  ? 'E'
                        : options.parity == config::Parity::kOdd ? 'O'
                                                                 : 'N';
    ctx_.reset(
        modbus_new_rtu(dev.c_str(), options.baud, parity, options.data_bits, options.stop_bits));
    if (!ctx_) {
      throw std::runtime_error(fmt::format("cannot open \"{}\" at {} baud: {}", dev, options.baud,
                                           modbus_strerror(errno)));
    }
    if (modbus_set_slave(ctx_.get(), options.unit_id) != 0) {
      throw std::runtime_error(fmt::format("cannot serve on {}: unit id {}: {}", dev,
                                           options.unit_id, modbus_strerror(errno)));
    }
    if (modbus_connect(ctx_.get()) != 0) {
      throw std::runtime_error(fmt::format("cannot open {}: {}", dev, modbus_strerror(errno)));
    }
    connected_.reset(ctx_.release());
    const auto tick = to_timeval(kTick);
    const auto window = to_timeval(kForeignReplyWindow);
    modbus_set_indication_timeout(connected_.get(), static_cast<std::uint32_t>(tick.tv_sec),
                                  static_cast<std::uint32_t>(tick.tv_usec));
    modbus_set_response_timeout(connected_.get(), static_cast<std::uint32_t>(window.tv_sec),
                                static_cast<std::uint32_t>(window.tv_usec));
  }

  [[nodiscard]] int port() const noexcept override { return 0; }
  [[nodiscard]] std::uint64_t requests_served() const noexcept override {
    return served_.load(std::memory_order_relaxed);
  }

  void run(const std::atomic<bool>& stop) override {
    std::uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];
    while (!stop.load()) {
      device_.advance(Clock::now());
      const int rc = modbus_receive(connected_.get(), query);
      if (rc > 0) {
        // Broadcasts (unit 0, the ADU's first byte) are executed but not
        // answered. Others are counted before the reply leaves, so a client
        // holding its answer already sees it in requests_served().
        const bool broadcast = query[0] == 0;
        if (!broadcast) served_.fetch_add(1, std::memory_order_relaxed);
        if (modbus_reply(connected_.get(), query, rc, device_.mapping()) <= 0 && !broadcast) {
          served_.fetch_sub(1, std::memory_order_relaxed);
        }
        device_.note_client_writes();
      } else if (rc == 0) {
        // A frame for another unit id: stay silent, as a real device on the bus.
      } else if (errno == EMBBADCRC || errno == EMBBADDATA || errno == EMBBADSLAVE) {
        // A corrupt frame: drop whatever is left of it and resynchronise.
        modbus_flush(connected_.get());
      } else if (errno != ETIMEDOUT && errno != EINTR) {
        // The port is gone (pty closed, adapter unplugged): do not spin.
        std::this_thread::sleep_for(kTick);
      }
    }
  }

 private:
  SimulatedDevice device_;
  std::unique_ptr<modbus_t, ModbusFree> ctx_;  // until modbus_connect() succeeds
  std::unique_ptr<modbus_t, ModbusCloseFree> connected_;
  std::atomic<std::uint64_t> served_{0};
};

}  // namespace

std::unique_ptr<ModbusSimServer> ModbusSimServer::tcp(const TcpServerOptions& options,
                                                      const std::string& profile) {
  return std::make_unique<TcpSimServer>(options, profile);
}

std::unique_ptr<ModbusSimServer> ModbusSimServer::rtu(const RtuServerOptions& options,
                                                      const std::string& profile) {
  return std::make_unique<RtuSimServer>(options, profile);
}

}  // namespace fieldgate::sim
