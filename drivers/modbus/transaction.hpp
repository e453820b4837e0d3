// One Modbus request on a shared link, with the retry and error rules every
// Modbus-speaking driver follows (the register-map driver's polls and writes,
// the SunSpec driver's reads): connect if needed, one transaction per attempt,
// each failure sorted into a quality and counted in the device's health.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <modbus/modbus.h>

#include "core/reading.hpp"
#include "drivers/driver.hpp"
#include "drivers/modbus/link.hpp"

namespace fieldgate::modbus {

/// How one request went: kGood with no error, or the quality of the failure and why.
struct RequestOutcome {
  Quality quality = Quality::kGood;
  std::string error;
};

/// Who the request is for on the link, and how long to wait for it.
struct Addressee {
  int unit_id = 1;
  config::Duration response_timeout{};
  config::Duration byte_timeout{};
};

/// Whether a request may be sent again after an answer that did not come or
/// did not fit: a read may (`retries` more times); a write may not (the device
/// may have executed it), and is repeated only when the link was found closed.
enum class Repeat { kRead, kWrite };

/// Runs `call` (a libmodbus function on the link's context, returning its rc)
/// until it returns `expected` or the attempts run out: 1 + `retries` for a
/// read, 2 for a write (the second only after a lost connection). An exception
/// answer is never repeated: the device decided. `what` ("holding 0..9")
/// starts the error text. Counts requests and failures in `health`.
[[nodiscard]] RequestOutcome run_request(ModbusLink& link, const Addressee& to, Repeat repeat,
                                         int retries, drivers::DeviceHealth& health,
                                         std::string_view what,
                                         const std::function<int(modbus_t*)>& call, int expected);

}  // namespace fieldgate::modbus
