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

  [[nodiscard]] std::string on_connect(MqttClient& client) override {
    const auto status = client.publish({topic_, std::string(kOnline), 1, true});
    if (!status.ok()) return fmt::format("cannot publish the birth message: {}", status.error);
    return {};
  }

  void on_close(MqttClient& client) override {
    // Not confirmed is no failure: MQTT 5 reports "no matching subscribers"
    // that way too.
    if (!client.publish_and_wait({topic_, std::string(kOffline), 1, true}, kOfflineWait)) {
      spdlog::debug("mqtt: offline status not confirmed");
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
