#include "drivers/modbus/transaction.hpp"

#include <cerrno>

#include <fmt/format.h>

namespace fieldgate::modbus {

RequestOutcome run_request(ModbusLink& link, const Addressee& to, Repeat repeat, int retries,
                           drivers::DeviceHealth& health, std::string_view what,
                           const std::function<int(modbus_t*)>& call, int expected) {
  RequestOutcome outcome;
  const int attempts = repeat == Repeat::kRead ? 1 + retries : 2;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (auto reason = link.ensure_connected(); !reason.empty()) {
      ++health.connection_errors;
      return {Quality::kNoConnection, std::move(reason)};
    }
    link.begin_transaction(to.unit_id, to.response_timeout, to.byte_timeout);
    ++health.requests;
    const int rc = call(link.context());
    const int err = errno;
    link.end_transaction();
    if (rc == expected) return {};

    outcome.quality = rc < 0 ? quality_of_errno(err) : Quality::kBadResponse;
    outcome.error = rc < 0 ? fmt::format("{}: {}", what, modbus_strerror(err))
                           : fmt::format("{}: {} values instead of {}", what, rc, expected);
    switch (outcome.quality) {
      case Quality::kException:
        ++health.exceptions;
        return outcome;  // the device decided
      case Quality::kNoConnection:
        // A TCP connection the peer closed while idle fails at once, before
        // the request left: reconnect on the next attempt, for a write too.
        ++health.connection_errors;
        link.disconnect();
        continue;
      case Quality::kTimeout:
        ++health.timeouts;
        break;
      case Quality::kBadResponse:
        ++health.bad_responses;
        break;
      case Quality::kGood:
        break;
    }
    // A late or broken answer must not be taken for the next request's.
    link.flush();
    if (repeat == Repeat::kWrite) return outcome;  // it may have been executed: never twice
  }
  return outcome;
}

}  // namespace fieldgate::modbus
