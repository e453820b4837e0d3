// Private to bridge/: the gateway's status topic as a session hook —
// retained "online" on connect (the birth), retained "offline" before a
// clean disconnect, and "offline" as the Last Will for any other end.
#pragma once

#include <memory>
#include <string>

#include "bridge/session_hook.hpp"

namespace fieldgate::bridge::detail {

/// The status hook on `status_topic` (expanded).
[[nodiscard]] std::unique_ptr<SessionHook> make_status_hook(std::string status_topic);

}  // namespace fieldgate::bridge::detail
