// A recording MqttClient for unit tests of one class that talks to the
// client seam (bridge/mqtt_client.hpp): it keeps what it is handed, answers
// publishes with the status a test chooses, and confirms on request the way
// a broker would. No network, no threads.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bridge/mqtt_client.hpp"

namespace fieldgate::testing {

/// Records publishes and subscriptions; refuses publishes with `next_status` when set.
class FakeMqttClient final : public bridge::MqttClient {
 public:
  /// One publish as handed to the client, with where its completion goes.
  struct Published {
    bridge::SessionMessage message;
    bridge::CompletionSink* sink = nullptr;
    bridge::CompletionTag tag = 0;
  };

  bridge::ConnectResult connect(const bridge::MqttConnectOptions&, std::chrono::milliseconds,
                                const std::function<bool()>&) override {
    return {true, false, false, {}};
  }
  bridge::MqttStatus publish(bridge::SessionMessage message, bridge::CompletionSink* sink,
                             bridge::CompletionTag tag) override {
    if (!next_status.ok()) return next_status;
    published.push_back({std::move(message), sink, tag});
    return {};
  }
  bool publish_and_wait(bridge::SessionMessage message, std::chrono::milliseconds) override {
    published.push_back({std::move(message), nullptr, 0});
    return true;
  }
  bridge::MqttStatus subscribe(const std::vector<std::string>& topics, int, bridge::CompletionSink*,
                               bridge::CompletionTag) override {
    subscribed.insert(subscribed.end(), topics.begin(), topics.end());
    return {};
  }
  bridge::MqttStatus unsubscribe(const std::vector<std::string>&, bridge::CompletionSink*,
                                 bridge::CompletionTag) override {
    return {};
  }
  void disconnect(std::chrono::milliseconds) override {}
  [[nodiscard]] bool is_connected() const override { return true; }

  /// Confirms every publish not confirmed yet, as a broker's acknowledgements would.
  void confirm_all() {
    for (auto& p : published) {
      if (p.sink != nullptr) p.sink->on_published(p.tag, {true, 0, {}});
      p.sink = nullptr;
    }
  }

  bridge::MqttStatus next_status;
  std::vector<Published> published;
  std::vector<std::string> subscribed;
};

}  // namespace fieldgate::testing
