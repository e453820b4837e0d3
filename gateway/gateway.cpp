#include "gateway/gateway.hpp"

#include <malloc.h>

#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bridge/topics.hpp"
#include "core/clock.hpp"
#include "core/startup_pages.hpp"
#include "gateway/availability_hook.hpp"
#include "gateway/command_startup.hpp"
#include "gateway/ha_discovery.hpp"
#include "gateway/run_config.hpp"
#include "gateway/version.hpp"

namespace fieldgate::gateway {
namespace {

// How often `systemctl status` gets a fresh STATUS= line.
constexpr std::chrono::seconds kServiceStatusEvery{10};

}  // namespace

Gateway::Gateway(const RunOptions& options, std::shared_ptr<config::Config> config,
                 drivers::DriverRegistry registry)
    : options_(options),
      config_(std::move(config)),
      registry_(std::move(registry)),
      // The formats of the encoders start_uplink() gives the forwarder.
      catalog_(make_catalog(registry_, bridge::make_default_encoders())),
      // Without WatchdogSec= the watchdog still logs a stalled part; it just
      // has no one to stop telling.
      watchdog_(service_.watchdog_interval().value_or(std::chrono::seconds(30)), kStallGrace,
                service_.watchdog_interval().has_value()) {}

Gateway::~Gateway() {
  // The store's last commit must not wake a forwarder that is gone.
  if (store_) store_->set_commit_listener({});
}

int Gateway::start() {
  try {
    store_ = bridge::open_sqlite_store(config_->store);
  } catch (const bridge::StoreDamagedError& e) {
    spdlog::error("cannot open the buffer: {}", e.what());
    return kExitBufferDamaged;
  } catch (const std::exception& e) {
    spdlog::error("cannot open the buffer: {}", e.what());
    return kExitStartFailed;
  }
  try {
    start_uplink();
    start_acquisition(config_);
    if (config_->modbus_server) {
      modbus_server_ = std::make_unique<ModbusServer>(*config_->modbus_server);
      // Writes and passed-through reads take the command router's gate to the
      // buses, which a reload re-points (attach/detach) under its lock.
      modbus_server_->set_bus({[router = commands_.get()](CommandRouter::ExternalWrite w) {
                                 router->submit_write(std::move(w));
                               },
                               [router = commands_.get()](WriteCommand job) {
                                 return router->submit_job(std::move(job));
                               }});
      serve_registers();
      modbus_server_->start();
    }
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return kExitServiceConfig;
  }
  settle_memory();
  spdlog::info("fieldgate {} running: {} devices, buffer {}, broker {}", kVersion,
               config_->devices.size(), config_->store.path, config_->mqtt.broker);

  started_ = SteadyClock::now();
  next_status_ = started_ + config_->mqtt.status_interval;
  next_service_status_ = started_ + kServiceStatusEvery;
  service_.ready(fmt::format("running: {} devices, buffer {}, broker {}", config_->devices.size(),
                             config_->store.path, config_->mqtt.broker));
  return kExitOk;
}

// The one place a Forwarder is made: the store's commits wake it, and the
// command router shares its MQTT session.
void Gateway::start_uplink() {
  // A change of a device's availability wakes the forwarder, as a commit does.
  availability_ = std::make_shared<AvailabilityBoard>([this] {
    if (forwarder_) forwarder_->wake();
  });
  availability_->set_devices(*config_);
  bridge::ForwarderParts parts;
  // Discovery is always there, so that a reload may turn it on or off.
  auto discovery = std::make_unique<bridge::RetainedSetHook>();
  discovery_ = discovery.get();
  parts.hooks.push_back(std::move(discovery));
  parts.hooks.push_back(make_availability_hook(availability_));
  if (config_->sparkplug) {
    sparkplug_ = std::make_unique<SparkplugUplink>(
        *config_, availability_, *store_, [this] { return commands_.get(); },
        [this] {
          if (forwarder_) forwarder_->wake();
        });
    sparkplug_->attach(parts);
  }
  forwarder_ = std::make_unique<bridge::Forwarder>(config_->mqtt, config_->gateway, *store_,
                                                   bridge::TopicMap(config_), std::move(parts));
  discovery_->set_waker([f = forwarder_.get()] { f->wake(); });
  publish_discovery(*config_);
  store_->set_commit_listener([f = forwarder_.get()] { f->wake(); });
  commands_ = make_command_router(*forwarder_);
  forwarder_->start();
}

// The Home Assistant entities of `config` (none when disabled): those no
// longer configured are deleted, changed ones republished (reload).
void Gateway::publish_discovery(const config::Config& config) {
  bridge::RetainedSetHook::Contents contents;
  contents.messages = discovery_payloads(config);
  contents.trigger_topic = discovery_status_topic(config);
  contents.resend_interval = config.homeassistant.resend_interval;
  discovery_->replace(std::move(contents));
  forwarder_->wake();
}

void Gateway::start_acquisition(const std::shared_ptr<const config::Config>& config) {
  // --rediscover forgets the kept SunSpec layouts at start, not at every reload.
  acquisition_ = std::make_unique<Acquisition>(config, registry_, *store_, *availability_,
                                               options_.rediscover && !started_acquisition_);
  started_acquisition_ = true;
  attach_commands(*commands_, *forwarder_, config, acquisition_->scheduler());
}

void Gateway::serve_registers() {
  if (!modbus_server_) return;
  if (!config_->modbus_server) {
    modbus_server_->set_units(nullptr);  // removed by a reload: serve nothing until a restart
    return;
  }
  modbus_server_->set_units(served_units(*config_->modbus_server, acquisition_->register_caches()));
}

void Gateway::settle_memory() {
  // Parsing the TOML file needs several times the memory of the result (a
  // 10,000-point file: ~20 MB of toml++ nodes); glibc keeps what was freed
  // inside the heap unless asked to give it back.
  malloc_trim(0);
  const auto released = release_startup_pages();
  spdlog::debug("start-up code pages unmapped: {} KiB in {} mappings", released.bytes / 1024,
                released.mappings);
}

void Gateway::reload() {
  load_again();
  settle_memory();
}

void Gateway::load_again() {
  service_.reloading();
  std::ostringstream problems;
  auto reloaded = load_or_report(options_.config_path, catalog_, problems);
  if (!reloaded) {
    spdlog::error("reload failed, keeping the running configuration:\n{}", problems.str());
    service_.ready("reload failed, running the previous configuration (see the journal)");
    return;
  }
  auto fresh = std::make_shared<fieldgate::config::Config>(std::move(*reloaded));
  apply_broker_override(*fresh, options_.broker);
  for (const auto& what : restart_only_changes(*config_, *fresh)) {
    spdlog::warn("reload: a change of {} takes effect at the next restart", what);
  }
  // Keep what cannot change live; take the rest.
  fresh->store = config_->store;
  fresh->mqtt.broker = config_->mqtt.broker;
  try {
    // Polling pauses for the swap; the buffer and the uplink carry on.
    commands_->detach();
    acquisition_.reset();
    forwarder_->set_topics(bridge::TopicMap(fresh));
    // Removed devices' availability topics are cleared, new ones start unknown.
    availability_->set_devices(*fresh);
    start_acquisition(fresh);
    publish_discovery(*fresh);
    if (sparkplug_ && fresh->sparkplug) sparkplug_->reload(*fresh);
    std::swap(config_, fresh);
    try {
      serve_registers();
    } catch (...) {
      std::swap(config_, fresh);
      throw;
    }
    apply_log_level(options_, *config_);
    spdlog::info("reloaded: {} devices", config_->devices.size());
    service_.ready(fmt::format("reloaded: {} devices", config_->devices.size()));
  } catch (const std::exception& e) {
    spdlog::error("reload failed ({}); restarting acquisition with the previous configuration",
                  e.what());
    availability_->set_devices(*config_);
    acquisition_ = std::make_unique<Acquisition>(config_, registry_, *store_, *availability_);
    forwarder_->set_topics(bridge::TopicMap(config_));
    attach_commands(*commands_, *forwarder_, config_, acquisition_->scheduler());
    publish_discovery(*config_);  // the entities of the configuration that runs
    if (sparkplug_) sparkplug_->reload(*config_);
    try {
      serve_registers();  // served before with this configuration: cannot fail but is checked
    } catch (const std::exception& again) {
      spdlog::error("{}", again.what());
    }
    service_.ready("reload failed, running the previous configuration (see the journal)");
  }
}

std::chrono::milliseconds Gateway::tick() {
  const auto now = SteadyClock::now();
  if (watchdog_.tick(watched_parts(), now) && service_.watchdog_interval()) service_.watchdog();
  commands_->flush_log();  // refusals held back in a flood: one summary line per window
  if (now >= next_status_) {
    report_status();
    next_status_ = now + config_->mqtt.status_interval;
  }
  if (now >= next_service_status_) {
    service_.status(summary_line(current_status(), unix_ms_now()));
    next_service_status_ = now + kServiceStatusEvery;
  }
  const auto wait = std::min<SteadyClock::duration>(next_status_ - now, std::chrono::seconds(1));
  return std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1);
}

void Gateway::stop() {
  service_.stopping("stopping: sending what the broker takes within the drain timeout");
  final_devices_ = acquisition_->status();
  modbus_server_.reset();
  commands_->detach();
  acquisition_.reset();
  store_->flush();
  forwarder_->stop(config_->mqtt.drain_timeout);
  // Not the periodic line: what a stop leaves behind, in words.
  spdlog::info("{}", stop_line(current_status(), unix_ms_now()));
  // The final commit may still add readings (spill mode moves what memory
  // holds to the file): nobody is left to wake.
  store_->set_commit_listener({});
  forwarder_.reset();
  store_.reset();  // final commit
  spdlog::info("stopped");
}

GatewayStatus Gateway::current_status() const {
  return GatewayStatus{
      config_->gateway.name,
      std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - started_),
      acquisition_ ? acquisition_->status() : final_devices_,
      store_->stats(),
      forwarder_->stats(),
      modbus_server_ ? std::optional(modbus_server_->stats()) : std::nullopt};
}

void Gateway::report_status() {
  const auto status = current_status();
  const auto now_ms = unix_ms_now();
  spdlog::info("status: {}", summary_line(status, now_ms));
  // Text from devices and the broker is in it: never throw for a byte that is not UTF-8.
  forwarder_->publish_stats(
      to_json(status, now_ms).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::vector<ProgressWatchdog::Part> Gateway::watched_parts() const {
  std::vector<ProgressWatchdog::Part> parts{{"the MQTT forwarder", &forwarder_->heartbeat()}};
  for (const auto& p : acquisition_->progress()) {
    parts.push_back({"the poll worker of " + p.channel, p.heartbeat});
  }
  return parts;
}

}  // namespace fieldgate::gateway
