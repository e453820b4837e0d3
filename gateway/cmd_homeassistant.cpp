// `fieldgate homeassistant --dry-run -c FILE`: the discovery configs the
// gateway would publish, as JSON, without a broker.
#include <ostream>

#include <nlohmann/json.hpp>

#include "gateway/command_startup.hpp"
#include "gateway/commands.hpp"
#include "gateway/ha_discovery.hpp"

namespace fieldgate::gateway {

int run_homeassistant(const HomeAssistantOptions& options, std::ostream& out, std::ostream& err) {
  const auto startup = CommandStartup::load(options.config_path, err);
  if (!startup) return kExitConfigError;
  const config::Config& config = startup->config();
  if (!config.homeassistant.enabled) {
    err << options.config_path
        << ": [homeassistant] enabled is not true: nothing would be published\n";
  }
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (auto& m : discovery_messages(config)) {
    all.push_back({{"topic", m.topic}, {"retain", true}, {"payload", std::move(m.config)}});
  }
  out << all.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  return kExitOk;
}

}  // namespace fieldgate::gateway
