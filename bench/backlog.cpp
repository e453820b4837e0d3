#include "bench/backlog.hpp"

#include <stdexcept>

#include "bench/subscriber.hpp"
#include "bridge/store.hpp"
#include "config/config.hpp"
#include "drivers/registry.hpp"
#include "gateway/command_startup.hpp"

namespace fieldgate::bench {

std::uint64_t prefill(const std::string& config_path, std::uint64_t count) {
  // Loaded as `fieldgate run` loads it: its drivers and payload formats.
  const auto config = config::load_config(
      config_path,
      gateway::make_catalog(drivers::make_default_registry(), bridge::make_default_encoders()));
  if (config.devices.empty()) throw std::runtime_error(config_path + ": no device");
  auto store = bridge::open_sqlite_store(config.store);
  // Each batch is one device poll, committed by itself: the row layout of a
  // real backlog, and memory stays bounded.
  std::uint64_t written = 0;
  for (std::size_t d = 0; written < count; d = (d + 1) % config.devices.size()) {
    const auto& device = config.devices[d];
    const auto ts = unix_ms();
    Batch batch;
    for (const auto& point : device.points) {
      if (written + batch.size() >= count) break;
      batch.push_back(Reading{device.name,
                              point.name,
                              static_cast<std::int64_t>(written + batch.size()) % 65536,
                              point.unit,
                              Quality::kGood,
                              ts,
                              0,
                              {}});
    }
    written += batch.size();
    store->append(std::move(batch));
    if (d + 1 == config.devices.size()) store->flush();
  }
  store->flush();
  return store->stats().next_seq - 1;
}

}  // namespace fieldgate::bench
