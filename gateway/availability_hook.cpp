#include "gateway/availability_hook.hpp"

#include <spdlog/spdlog.h>

namespace fieldgate::gateway {
namespace {

class AvailabilityHook final : public bridge::SessionHook {
 public:
  explicit AvailabilityHook(std::shared_ptr<AvailabilityBoard> board) : board_(std::move(board)) {}

  [[nodiscard]] std::string on_connect(bridge::MqttClient& client) override {
    // A clean session kept nothing: say every state again. A failure here is
    // the session's (the forwarder notices); the message is taken again.
    publish(client, board_->take(true));
    return {};
  }

  void service(bridge::MqttClient& client) override { publish(client, board_->take(false)); }

 private:
  void publish(bridge::MqttClient& client,
               const std::vector<AvailabilityBoard::Message>& messages) {
    for (const auto& message : messages) {
      const auto status = client.publish({message.topic, message.payload, 1, true});
      if (status.ok()) {
        board_->published(message);
      } else if (status.kind == bridge::MqttStatus::Kind::kMessageRefused) {
        // The same message would be refused again: no retry loop.
        spdlog::warn("mqtt: availability on {} refused: {}", message.topic, status.error);
      } else {
        spdlog::debug("mqtt: availability on {} not published: {}", message.topic, status.error);
        board_->failed(message);  // again in the next session's on_connect at the latest
      }
    }
  }

  std::shared_ptr<AvailabilityBoard> board_;
};

}  // namespace

std::unique_ptr<bridge::SessionHook> make_availability_hook(
    std::shared_ptr<AvailabilityBoard> board) {
  return std::make_unique<AvailabilityHook>(std::move(board));
}

}  // namespace fieldgate::gateway
