// "sparkplug-b": one DDATA per device poll (consecutive readings of one
// device, a point seen again starting the next poll, as device-json), its
// metrics by alias, on spBv1.0/<group>/DDATA/<node>/<device>, at
// [sparkplug] data_qos, not retained, with the next seq of the Node it
// shares with the session hook (sparkplug_hook.hpp). A reading acquired
// before this session's births is sent with is_historical: it waited in
// the store (broker or primary host away, a restart) and is not the current
// value.
#pragma once

#include <memory>

#include "bridge/payload_encoder.hpp"
#include "bridge/sparkplug_node.hpp"

namespace fieldgate::bridge::sparkplug {

/// The encoder of `node`; with a null node (a registry built only for its
/// format names) every message is refused.
[[nodiscard]] std::unique_ptr<PayloadEncoder> make_encoder(std::shared_ptr<Node> node);

}  // namespace fieldgate::bridge::sparkplug
