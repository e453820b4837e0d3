// Private to bridge/: a diagnostic connection to the broker. Paho reports
// every TCP or TLS failure as "TCP/TLS connect failure"; this says which one
// it was ("connection refused", "certificate verify failed: unable to get
// local issuer certificate", "hostname mismatch", ...), so the log line and
// last_error name the fix. Used only after Paho failed to connect.
#pragma once

#include <chrono>
#include <string>

#include "config/config.hpp"

namespace fieldgate::bridge::detail {

/// Connects to host:port and, when `tls` is non-null, does a TLS handshake
/// verifying the server like Paho does (CA file or system store, hostname
/// unless verify_hostname is off, client certificate). Returns why it fails,
/// or "" when it succeeds. Blocks at most about 2 × `timeout`.
[[nodiscard]] std::string probe_connection(const std::string& host, int port,
                                           const config::TlsConfig* tls,
                                           std::chrono::milliseconds timeout);

}  // namespace fieldgate::bridge::detail
