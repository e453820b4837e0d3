// The Modbus server's requests that need a bus: writes through the command
// router (the MQTT `/set` path from its checks on: limits, queue, deadline,
// audit log, result message) and, with `passthrough`, reads the caches cannot
// answer, queued on the device's worker like a write. The server's thread
// never waits for either: it sends the request, stops reading that client,
// and serves the others; the worker posts the answer (BusAnswers) and the
// server's thread hands it to the client when it is still connected.
//
// Which exception a master gets (docs/MODBUS_SERVER.md):
//   write the point's checks refuse (min/max, allowed)    0x03
//   write the device refused, did not answer, or expired  0x04
//   passed-through read the device did not answer          0x0B
//   kMaxBusRequests in flight, or the bus's queue full     0x06
#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/modbus_server_loop.hpp"

namespace fieldgate::gateway {
namespace {

using Kind = BusAnswer::Kind;

std::vector<std::uint8_t> exception_of(std::span<const std::uint8_t> frame, ModbusException code) {
  std::vector<std::uint8_t> out;
  exception_response(frame, code, out);
  return out;
}

// A write's result (CommandResult::status) as the master's answer.
BusAnswer write_answer(std::uint64_t client, std::span<const std::uint8_t> frame,
                       const CommandResult& result) {
  BusAnswer answer{client, Kind::kWriteOk, {}};
  if (result.status == "ok") {
    write_response(frame, answer.response);
  } else if (result.status == "rejected") {
    answer.kind = Kind::kWriteRefused;  // the point's checks: never reached the bus
    answer.response = exception_of(frame, ModbusException::kIllegalDataValue);
  } else if (result.status == "busy") {
    answer.kind = Kind::kBusy;
    answer.response = exception_of(frame, ModbusException::kServerDeviceBusy);
  } else {
    answer.kind = Kind::kWriteFailed;  // "error", "expired"
    answer.response = exception_of(frame, ModbusException::kServerDeviceFailure);
  }
  return answer;
}

}  // namespace

BusAnswers::BusAnswers() : wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_.get() < 0) {
    throw std::runtime_error(std::string("modbus server: eventfd: ") + std::strerror(errno));
  }
}

void BusAnswers::post(BusAnswer answer) noexcept {
  try {
    const std::scoped_lock lock(mutex_);
    answers_.push_back(std::move(answer));
  } catch (...) {
    spdlog::error("modbus server: a bus answer was lost (out of memory)");
    return;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_.get(), &one, sizeof one);
}

std::vector<BusAnswer> BusAnswers::take() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(wake_.get(), &count, sizeof count);
  std::vector<BusAnswer> out;
  const std::scoped_lock lock(mutex_);
  out.swap(answers_);
  return out;
}

void ModbusServer::Loop::dispatch(Client& client, std::span<const std::uint8_t> frame,
                                  BusRequest request, SteadyClock::time_point now) {
  ModbusServerBus to;
  {
    const std::scoped_lock lock(mutex);
    to = bus;
  }
  const bool write = request.kind == BusRequest::Kind::kWrite;
  const auto refuse_now = [&](Kind kind, ModbusException code) {
    client.out = exception_of(frame, code);
    const std::scoped_lock lock(mutex);
    ++stats.exceptions;
    if (kind == Kind::kBusy) ++stats.busy;
    if (kind == Kind::kWriteFailed) ++stats.writes_failed;
    if (kind == Kind::kReadFailed) ++stats.passthrough_failed;
  };
  if (in_flight >= kMaxBusRequests) {
    note("busy", fmt::format("{}: {} requests already wait for a bus: exception 0x06", client.peer,
                             kMaxBusRequests));
    return refuse_now(Kind::kBusy, ModbusException::kServerDeviceBusy);
  }
  if (write ? !to.write : !to.job) {
    return refuse_now(
        write ? Kind::kWriteFailed : Kind::kReadFailed,
        write ? ModbusException::kServerDeviceFailure : ModbusException::kGatewayTargetFailed);
  }
  const std::uint64_t id = client.id;
  std::vector<std::uint8_t> request_frame(frame.begin(), frame.end());  // for the answer
  auto answers = bus_answers;
  if (write) {
    CommandRouter::ExternalWrite w;
    w.device = request.device->device();
    w.point = request.point;
    w.value = std::move(request.value);
    w.source = fmt::format(
        "modbus client {}, unit {}, FC{} {} {}", client.peer, frame[6], frame[kMbapHeaderBytes],
        request.table == drivers::RegisterTable::kCoils ? "coil" : "holding", request.start);
    w.reply = [answers, id, request_frame](const CommandResult& result) {
      answers->post(write_answer(id, request_frame, result));
    };
    client.waiting = true;  // before: the reply may come at once, but is taken by this thread
    client.waiting_since = now;
    ++in_flight;
    to.write(std::move(w));
  } else {
    auto words = std::make_shared<std::vector<std::uint16_t>>(request.count);
    WriteCommand job;
    job.device = request.device->device();
    job.deadline = now + config.passthrough_timeout;
    job.action = [words, table = request.table, start = request.start](drivers::Driver& driver) {
      return driver.read_registers(table, start, *words);
    };
    job.done = [answers, id, request_frame, words](CommandOutcome outcome,
                                                   const drivers::WriteResult& result) noexcept {
      try {
        BusAnswer answer{id, Kind::kReadOk, {}};
        if (outcome == CommandOutcome::kExecuted && result.status == drivers::WriteStatus::kOk) {
          read_response(request_frame, *words, answer.response);
        } else {
          answer.kind = Kind::kReadFailed;
          exception_response(request_frame, ModbusException::kGatewayTargetFailed, answer.response);
        }
        answers->post(std::move(answer));
      } catch (...) {
        spdlog::error("modbus server: a passed-through read's answer was lost (out of memory)");
      }
    };
    switch (to.job(std::move(job))) {
      case Submitted::kQueued:
        client.waiting = true;
        client.waiting_since = now;
        ++in_flight;
        break;
      case Submitted::kBusy:
        note("busy", fmt::format("{}: the bus queue of {} is full: exception 0x06", client.peer,
                                 request.device->device()));
        return refuse_now(Kind::kBusy, ModbusException::kServerDeviceBusy);
      case Submitted::kNoWorker:
        return refuse_now(Kind::kReadFailed, ModbusException::kGatewayTargetFailed);
    }
  }
  const std::scoped_lock lock(mutex);
  stats.in_flight = in_flight;
}

void ModbusServer::Loop::deliver_bus_answers(SteadyClock::time_point now) {
  for (auto& answer : bus_answers->take()) {
    if (in_flight > 0) --in_flight;
    const bool exception = answer.kind != Kind::kWriteOk && answer.kind != Kind::kReadOk;
    auto client = clients.begin();
    while (client != clients.end() && client->id != answer.client) ++client;
    {
      const std::scoped_lock lock(mutex);
      stats.in_flight = in_flight;
      if (exception) ++stats.exceptions;
      switch (answer.kind) {
        case Kind::kWriteOk:
          ++stats.writes_ok;
          break;
        case Kind::kWriteRefused:
          ++stats.writes_refused;
          break;
        case Kind::kWriteFailed:
          ++stats.writes_failed;
          break;
        case Kind::kReadOk:
          ++stats.passthrough_ok;
          break;
        case Kind::kReadFailed:
          ++stats.passthrough_failed;
          break;
        case Kind::kBusy:
          ++stats.busy;
          break;
      }
      if (client == clients.end()) ++stats.answers_dropped;
    }
    if (client == clients.end()) continue;  // it left; the write was done (audit log) anyway
    client->waiting = false;
    client->last_activity = now;
    client->out = std::move(answer.response);
    // Then the frames it sent meanwhile, if any.
    bool keep = write_to(*client) && answer_frames(*client, now);
    if (!keep) {
      const std::scoped_lock lock(mutex);
      clients.erase(client);
      stats.clients = clients.size();
    }
  }
}

}  // namespace fieldgate::gateway
