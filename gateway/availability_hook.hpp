// The per-device availability topics as a session hook (bridge/session_hook.hpp):
// every known state, retained at QoS 1, on each connect; what changed since,
// in service(). The device knowledge stays on the gateway's side (the
// AvailabilityBoard); the forwarder only sees topics and payloads.
#pragma once

#include <memory>

#include "bridge/session_hook.hpp"
#include "gateway/availability.hpp"

namespace fieldgate::gateway {

/// A hook publishing what `board` holds; the board outlives the hook's forwarder.
[[nodiscard]] std::unique_ptr<bridge::SessionHook> make_availability_hook(
    std::shared_ptr<AvailabilityBoard> board);

}  // namespace fieldgate::gateway
