// The libmosquitto floor: a bare publisher on libmosquitto's threaded loop,
// the least CPU per message libmosquitto allows on this machine. on_publish
// counts completions (PUBACK at QoS 1, written at QoS 0); a window keeps at
// most --window messages unconfirmed, as fieldgate's forwarder does.
#include <mosquitto.h>

#include <future>
#include <memory>

#include "bench/floor_common.hpp"

namespace fieldgate::bench::floor {
namespace {

/// libmosquitto's global state, for the life of the program.
struct MosquittoLibrary {
  MosquittoLibrary() { mosquitto_lib_init(); }
  ~MosquittoLibrary() { mosquitto_lib_cleanup(); }
  MosquittoLibrary(const MosquittoLibrary&) = delete;
  MosquittoLibrary& operator=(const MosquittoLibrary&) = delete;
};

/// Owns a mosquitto handle.
struct MosquittoDestroy {
  void operator()(mosquitto* handle) const noexcept { mosquitto_destroy(handle); }
};
using MosquittoClient = std::unique_ptr<mosquitto, MosquittoDestroy>;

/// What the callbacks reach through the handle's user data.
struct Context {
  Window* window;
  std::promise<int> connected;
  bool connect_reported = false;  // the loop thread only
};

void on_connect(mosquitto* /*client*/, void* user, int rc) {
  auto* context = static_cast<Context*>(user);
  if (context->connect_reported) return;
  context->connect_reported = true;
  context->connected.set_value(rc);
}

void on_publish(mosquitto* /*client*/, void* user, int /*mid*/) {
  static_cast<Context*>(user)->window->complete(true);
}

int run(const FloorOptions& options) {
  const MosquittoLibrary library;
  Window window(options.window);
  Context context{&window, {}};
  MosquittoClient client(mosquitto_new("fieldgate-floor-mosquitto", true, &context));
  if (!client) {
    std::fprintf(stderr, "floor-mosquitto: mosquitto_new failed\n");
    return 1;
  }
  mosquitto_int_option(client.get(), MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // libmosquitto queues what is beyond its own limit instead of refusing it:
  // the same room above the window as the Paho floor, so the window decides.
  mosquitto_max_inflight_messages_set(client.get(), static_cast<unsigned>(options.window) + 10);
  mosquitto_connect_callback_set(client.get(), on_connect);
  mosquitto_publish_callback_set(client.get(), on_publish);
  auto result = context.connected.get_future();
  if (mosquitto_connect(client.get(), options.host.c_str(), options.port, 60) != MOSQ_ERR_SUCCESS ||
      mosquitto_loop_start(client.get()) != MOSQ_ERR_SUCCESS ||
      result.wait_for(std::chrono::seconds(10)) != std::future_status::ready || result.get() != 0) {
    std::fprintf(stderr, "floor-mosquitto: cannot connect to %s:%d\n", options.host.c_str(),
                 options.port);
    mosquitto_loop_stop(client.get(), true);
    return 1;
  }

  const int status = run_floor(
      "mosquitto", options, window, [&](const std::string& topic, const std::string& payload) {
        return mosquitto_publish(client.get(), nullptr, topic.c_str(),
                                 static_cast<int>(payload.size()), payload.data(), options.qos,
                                 false) == MOSQ_ERR_SUCCESS;
      });

  mosquitto_disconnect(client.get());
  mosquitto_loop_stop(client.get(), false);
  return status;
}

}  // namespace
}  // namespace fieldgate::bench::floor

int main(int argc, char** argv) {
  fieldgate::bench::floor::FloorOptions options;
  if (!fieldgate::bench::floor::parse_options(argc, argv, "bare libmosquitto publisher", options)) {
    return 1;
  }
  return fieldgate::bench::floor::run(options);
}
