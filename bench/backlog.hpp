// Fills a gateway's buffer through the Store API, as if the broker had been
// away while its devices were polled: the backlog for the drain figures.
#pragma once

#include <cstdint>
#include <string>

namespace fieldgate::bench {

/// Appends `count` readings, cycling through the devices and points of the
/// configuration at `config_path`, to the store that configuration names.
/// Returns the highest seq written.
std::uint64_t prefill(const std::string& config_path, std::uint64_t count);

}  // namespace fieldgate::bench
