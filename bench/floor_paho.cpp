// The Paho C floor: a bare MQTTAsync publisher (no C++ wrapper, no tokens, no
// per-message wait), the least CPU per message Paho C allows on this machine.
// onSuccess callbacks count completions; a window keeps at most --window
// messages unconfirmed, as fieldgate's forwarder does. One JSON line out.
#include <MQTTAsync.h>

#include <future>
#include <memory>

#include "bench/floor_common.hpp"

namespace fieldgate::bench::floor {
namespace {

/// Owns an MQTTAsync handle.
struct PahoDestroy {
  void operator()(void* handle) const noexcept {
    MQTTAsync client = handle;
    MQTTAsync_destroy(&client);
  }
};
using PahoClient = std::unique_ptr<void, PahoDestroy>;

void on_sent(void* context, MQTTAsync_successData* /*response*/) {
  static_cast<Window*>(context)->complete(true);
}

void on_not_sent(void* context, MQTTAsync_failureData* /*response*/) {
  static_cast<Window*>(context)->complete(false);
}

void on_connected(void* context, MQTTAsync_successData* /*response*/) {
  static_cast<std::promise<int>*>(context)->set_value(MQTTASYNC_SUCCESS);
}

void on_connect_failed(void* context, MQTTAsync_failureData* response) {
  static_cast<std::promise<int>*>(context)->set_value(response ? response->code : -1);
}

int run(const FloorOptions& options) {
  const auto uri = fmt::format("tcp://{}:{}", options.host, options.port);
  MQTTAsync handle = nullptr;
  if (MQTTAsync_create(&handle, uri.c_str(), "fieldgate-floor-paho", MQTTCLIENT_PERSISTENCE_NONE,
                       nullptr) != MQTTASYNC_SUCCESS) {
    std::fprintf(stderr, "floor-paho: MQTTAsync_create failed\n");
    return 1;
  }
  PahoClient client(handle);

  std::promise<int> connected;
  MQTTAsync_connectOptions connect = MQTTAsync_connectOptions_initializer;
  connect.keepAliveInterval = 60;
  connect.cleansession = 1;
  connect.MQTTVersion = MQTTVERSION_3_1_1;
  // Paho refuses a publish beyond maxInflight: leave room above the window.
  connect.maxInflight = static_cast<int>(options.window) + 10;
  connect.onSuccess = on_connected;
  connect.onFailure = on_connect_failed;
  connect.context = &connected;
  auto result = connected.get_future();
  if (MQTTAsync_connect(client.get(), &connect) != MQTTASYNC_SUCCESS ||
      result.wait_for(std::chrono::seconds(10)) != std::future_status::ready ||
      result.get() != MQTTASYNC_SUCCESS) {
    std::fprintf(stderr, "floor-paho: cannot connect to %s\n", uri.c_str());
    return 1;
  }

  Window window(options.window);
  MQTTAsync_responseOptions sent = MQTTAsync_responseOptions_initializer;
  sent.onSuccess = on_sent;
  sent.onFailure = on_not_sent;
  sent.context = &window;
  const int status =
      run_floor("paho", options, window, [&](const std::string& topic, const std::string& payload) {
        MQTTAsync_message message = MQTTAsync_message_initializer;
        message.payload = const_cast<char*>(payload.data());  // Paho copies it
        message.payloadlen = static_cast<int>(payload.size());
        message.qos = options.qos;
        return MQTTAsync_sendMessage(client.get(), topic.c_str(), &message, &sent) ==
               MQTTASYNC_SUCCESS;
      });

  MQTTAsync_disconnectOptions disconnect = MQTTAsync_disconnectOptions_initializer;
  disconnect.timeout = 1000;
  MQTTAsync_disconnect(client.get(), &disconnect);
  return status;
}

}  // namespace
}  // namespace fieldgate::bench::floor

int main(int argc, char** argv) {
  fieldgate::bench::floor::FloorOptions options;
  if (!fieldgate::bench::floor::parse_options(argc, argv, "bare Paho C (MQTTAsync) publisher",
                                              options)) {
    return 1;
  }
  return fieldgate::bench::floor::run(options);
}
