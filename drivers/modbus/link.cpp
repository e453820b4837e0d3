#include "drivers/modbus/link.hpp"

#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <modbus/modbus-rtu.h>
#include <spdlog/spdlog.h>

#include "core/serial_port.hpp"

namespace fieldgate::modbus {

Quality quality_of_errno(int err) noexcept {
  if (err == ETIMEDOUT) return Quality::kTimeout;
  if (err >= EMBXILFUN && err <= EMBXGTAR) return Quality::kException;
  if (err >= EMBBADCRC && err <= EMBBADSLAVE) return Quality::kBadResponse;
  return Quality::kNoConnection;
}
namespace {

void set_timeout(modbus_t* ctx, config::Duration d,
                 int (*setter)(modbus_t*, std::uint32_t, std::uint32_t)) {
  auto ms = d.count();
  setter(ctx, static_cast<std::uint32_t>(ms / 1000),
         static_cast<std::uint32_t>((ms % 1000) * 1000));
}

char parity_char(config::Parity p) {
  switch (p) {
    case config::Parity::kEven:
      return 'E';
    case config::Parity::kOdd:
      return 'O';
    case config::Parity::kNone:
      break;
  }
  return 'N';
}

}  // namespace

std::string busy_message(std::string_view port) {
  return fmt::format(
      "{} is in use by another process (a running fieldgate gateway, poll or scan holds its "
      "lock): stop it first, two masters on one RS-485 line garble each other's frames",
      port);
}

void ModbusContextDeleter::operator()(modbus_t* ctx) const noexcept {
  modbus_close(ctx);
  modbus_free(ctx);
}

std::chrono::microseconds ModbusLink::t35(int baud) noexcept {
  if (baud > 19200) return std::chrono::microseconds(1750);
  // 3.5 characters × 11 bits / baud, rounded up.
  return std::chrono::microseconds((3500000LL * 11 + baud - 1) / baud);
}

ModbusLink::ModbusLink(Passkey, ModbusContextPtr ctx, std::string description, bool serial,
                       std::chrono::microseconds inter_frame_delay, bool rs485)
    : ctx_(std::move(ctx)),
      description_(std::move(description)),
      serial_(serial),
      rs485_(rs485),
      inter_frame_delay_(inter_frame_delay) {}

std::shared_ptr<ModbusLink> ModbusLink::tcp(const std::string& host, int port) {
  const auto service = std::to_string(port);
  ModbusContextPtr ctx(modbus_new_tcp_pi(host.c_str(), service.c_str()));
  if (!ctx) {
    throw std::runtime_error(fmt::format("cannot create Modbus TCP context for {}:{}: {}", host,
                                         port, modbus_strerror(errno)));
  }
  return std::make_shared<ModbusLink>(Passkey{}, std::move(ctx), fmt::format("{}:{}", host, port),
                                      false, std::chrono::microseconds(0), false);
}

std::shared_ptr<ModbusLink> ModbusLink::rtu(const config::BusConfig& bus) {
  ModbusContextPtr ctx(modbus_new_rtu(bus.port.c_str(), bus.baud, parity_char(bus.parity),
                                      bus.data_bits, bus.stop_bits));
  if (!ctx) {
    throw std::runtime_error(fmt::format("cannot create Modbus RTU context for {} ({}): {}",
                                         bus.name, bus.port, modbus_strerror(errno)));
  }
  const auto delay =
      bus.inter_frame_delay
          ? std::chrono::duration_cast<std::chrono::microseconds>(*bus.inter_frame_delay)
          : t35(bus.baud);
  auto link = std::make_shared<ModbusLink>(Passkey{}, std::move(ctx),
                                           fmt::format("{} ({})", bus.name, bus.port), true, delay,
                                           bus.mode == config::SerialMode::kRs485);
  link->serial_port_ = bus.port;
  return link;
}

std::string ModbusLink::ensure_connected() {
  if (connected_) return {};
  if (modbus_connect(ctx_.get()) != 0) {
    const int err = errno;
    if (!serial_port_.empty() && (err == EACCES || err == EPERM)) {
      return fmt::format("cannot open {}: {}", description_,
                         describe_open_error(serial_port_, err));
    }
    return fmt::format("cannot connect to {}: {}", description_, modbus_strerror(err));
  }
  if (serial_ && flock(modbus_get_socket(ctx_.get()), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    modbus_close(ctx_.get());
    if (err == EWOULDBLOCK) return busy_message(serial_port_.empty() ? description_ : serial_port_);
    return fmt::format("cannot lock {}: {}", description_, std::strerror(err));
  }
  if (rs485_ && modbus_rtu_set_serial_mode(ctx_.get(), MODBUS_RTU_RS485) != 0) {
    auto reason =
        fmt::format("cannot switch {} to RS-485 mode: {}", description_, modbus_strerror(errno));
    modbus_close(ctx_.get());
    return reason;
  }
  connected_ = true;
  last_end_ = std::chrono::steady_clock::now();
  return {};
}

void ModbusLink::disconnect() noexcept {
  if (connected_) modbus_close(ctx_.get());
  connected_ = false;
}

void ModbusLink::begin_transaction(int unit_id, config::Duration response_timeout,
                                   config::Duration byte_timeout) {
  modbus_set_slave(ctx_.get(), unit_id);
  set_timeout(ctx_.get(), response_timeout, &modbus_set_response_timeout);
  set_timeout(ctx_.get(), byte_timeout, &modbus_set_byte_timeout);
  if (serial_) std::this_thread::sleep_until(last_end_ + inter_frame_delay_);
}

void ModbusLink::end_transaction() noexcept {
  last_end_ = std::chrono::steady_clock::now();
}

void ModbusLink::flush() noexcept {
  if (connected_) modbus_flush(ctx_.get());
}

}  // namespace fieldgate::modbus
