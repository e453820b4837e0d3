#include "bridge/status_hook.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "bridge/mqtt_session.hpp"

namespace fieldgate::bridge::detail {
namespace {

constexpr std::chrono::milliseconds kOfflineWait{2000};

class StatusHook final : public SessionHook {
 public:
  explicit StatusHook(std::string topic) : topic_(std::move(topic)) {}

  [[nodiscard]] std::optional<SessionMessage> will() const override {
    return SessionMessage{topic_, std::string(kOffline), 1, true};
  }

  [[nodiscard]] std::string on_connect(mqtt::async_client& client) override {
    try {
      client.publish(mqtt::make_message(topic_, std::string(kOnline), 1, true));
    } catch (const mqtt::exception& e) {
      return fmt::format("cannot publish the birth message: {}", e.what());
    }
    return {};
  }

  void on_close(mqtt::async_client& client) override {
    try {
      client.publish(mqtt::make_message(topic_, std::string(kOffline), 1, true))
          ->wait_for(kOfflineWait);
    } catch (const mqtt::exception& e) {
      // MQTT 5 reports "no matching subscribers" this way too; not a failure.
      spdlog::debug("mqtt: offline status: {}", e.what());
    }
  }

 private:
  std::string topic_;
};

}  // namespace

std::unique_ptr<SessionHook> make_status_hook(std::string status_topic) {
  return std::make_unique<StatusHook>(std::move(status_topic));
}

}  // namespace fieldgate::bridge::detail
