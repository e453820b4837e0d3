// The Sparkplug B end-to-end fixture shared by sparkplug_test.cpp and
// sparkplug_node_test.cpp: the real `fieldgate run` binary, a real mosquitto,
// a simulated meter, and a host no one here wrote -- the Sparkplug project's
// own JavaScript payload library (Eclipse Tahu's `sparkplug-payload` from the
// npm registry, its own .proto compiled by protobuf.js) run on node by
// sparkplug_host/sparkplug_host.js -- that decodes every message fieldgate
// publishes and encodes the commands the tests send. scripts/test installs
// the library into the build tree (install_sparkplug_host, scripts/lib.sh).
#pragma once

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/mosquitto.hpp"
#include "tests/support/mqtt_helpers.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sim_thread.hpp"

namespace fieldgate::testing {

using Json = nlohmann::json;

inline const std::string kSparkplugBinary = FIELDGATE_BINARY;
inline const std::string kSparkplugHost =
    FIELDGATE_SOURCE_DIR "/tests/integration/sparkplug_host/sparkplug_host.js";
inline const std::string kSparkplugHostModules = FIELDGATE_SPARKPLUG_HOST_MODULES;

inline const std::string kNbirth = "spBv1.0/plant/NBIRTH/line1";
inline const std::string kNdeath = "spBv1.0/plant/NDEATH/line1";
inline const std::string kNdata = "spBv1.0/plant/NDATA/line1";
inline const std::string kDbirth = "spBv1.0/plant/DBIRTH/line1/meter";
inline const std::string kDdeath = "spBv1.0/plant/DDEATH/line1/meter";
inline const std::string kDdata = "spBv1.0/plant/DDATA/line1/meter";
inline const std::string kNcmd = "spBv1.0/plant/NCMD/line1";
inline const std::string kDcmd = "spBv1.0/plant/DCMD/line1/meter";

/// What a test's configuration varies.
struct SparkplugSetup {
  std::string poll = "200ms";
  std::string primary_host;            // primary_host_id, "" = none
  std::string sparkplug_extra;         // more [sparkplug] lines
  std::string mqtt_extra;              // more [mqtt] lines
  std::string device_extra;            // more lines of the meter's [[devices]] table
  std::string port;                    // the meter's port; "" = the simulator's
  std::string status_interval = "1h";  // also the node metrics' NDATA interval
};

class SparkplugTest : public ::testing::Test {
 protected:
  SparkplugTest()
      : meter_(sim::ModbusSimServer::tcp({"127.0.0.1", 0})),
        broker_(dir_.path()),
        messages_(broker_.uri(), "spBv1.0/#", 1),
        publisher_(broker_.uri()) {}

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kSparkplugHostModules + "/sparkplug-payload"))
        << "the Sparkplug B test host is not installed in " << kSparkplugHostModules
        << ": scripts/test installs it from the npm registry (install_sparkplug_host in "
           "scripts/lib.sh)";
  }

  std::filesystem::path write_config(const SparkplugSetup& setup) {
    const std::string port =
        setup.port.empty() ? std::to_string(meter_.server().port()) : setup.port;
    return dir_.write(
        "gateway.toml",
        fmt::format(
            R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "20ms"
[mqtt]
broker = "{}"
payload = "sparkplug-b"
keepalive = "5s"
status_interval = "{}"
reconnect_min = "100ms"
reconnect_max = "500ms"
command_max_age = "30s"
{}
[sparkplug]
group_id = "plant"
edge_node_id = "line1"
{}
{}
[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
poll_interval = "{}"
{}
  [[devices.points]]
  name = "voltage_l1"
  kind = "input"
  address = 0
  type = "float32"
  unit = "V"
  [[devices.points]]
  name = "setpoint"
  kind = "holding"
  address = 15
  type = "int16"
  scale = 0.1
  unit = "°C"
  writable = true
  min = 5
  max = 30
  [[devices.points]]
  name = "relay_1"
  kind = "coil"
  address = 0
  writable = true
)",
            (dir_.path() / "buffer.db").string(), broker_.uri(), setup.status_interval,
            setup.mqtt_extra,
            setup.primary_host.empty() ? "" : "primary_host_id = \"" + setup.primary_host + "\"",
            setup.sparkplug_extra, port, setup.poll, setup.device_extra));
  }

  std::filesystem::path write_config(const std::string& poll = "200ms",
                                     const std::string& host = "") {
    SparkplugSetup setup;
    setup.poll = poll;
    setup.primary_host = host;
    return write_config(setup);
  }

  std::unique_ptr<ChildProcess> start(const std::filesystem::path& config) {
    EXPECT_TRUE(messages_.wait_connected(std::chrono::seconds(10)));
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{kSparkplugBinary, "run", "-c", config.string()}, dir_.path());
  }

  static std::string hex(const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
    return out;
  }

  static std::string unhex(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
    }
    return out;
  }

  // Every message fieldgate published so far (not the test's own commands
  // and STATE), decoded by the independent host.
  Json decoded() {
    Json in = Json::array();
    for (const auto& m : messages_.messages()) {
      if (!from_node(m.topic)) continue;
      in.push_back({{"topic", m.topic}, {"payload_hex", hex(m.payload)}, {"retained", m.retained}});
    }
    const auto file = dir_.write("messages.json", in.dump());
    const auto run = run_command(
        {FIELDGATE_NODE, kSparkplugHost, kSparkplugHostModules, "decode", file.string()},
        dir_.path());
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return Json::parse(run.out);
  }

  // A payload a host would send, encoded by the independent host: metrics
  // as [{"name"|"alias", "type", "value"}].
  std::string encoded(const Json& metrics) {
    const auto file = dir_.write("command.json", Json{{"metrics", metrics}}.dump());
    const auto run = run_command(
        {FIELDGATE_NODE, kSparkplugHost, kSparkplugHostModules, "encode", file.string()},
        dir_.path());
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::string text = run.out;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return unhex(text);
  }

  static bool from_node(const std::string& topic) {
    for (const char* type :
         {"/NBIRTH/", "/NDEATH/", "/NDATA/", "/DBIRTH/", "/DDATA/", "/DDEATH/"}) {
      if (topic.find(type) != std::string::npos) return true;
    }
    return false;
  }

  std::size_t count(const std::string& topic) const {
    std::size_t n = 0;
    for (const auto& m : messages_.messages()) n += m.topic == topic ? 1 : 0;
    return n;
  }

  bool wait_count(const std::string& topic, std::size_t n, std::chrono::seconds timeout) {
    return wait_until([&] { return count(topic) >= n; }, timeout);
  }

  static std::int64_t bd_seq(const Json& message) {
    for (const auto& m : message["metrics"]) {
      if (m.value("name", "") == "bdSeq") return m["value"].get<std::int64_t>();
    }
    return -1;
  }

  // The decoded messages on `topic`.
  static std::vector<Json> on(const Json& all, const std::string& topic) {
    std::vector<Json> out;
    for (const auto& m : all) {
      if (m["topic"] == topic) out.push_back(m);
    }
    return out;
  }

  // The metric named `name` of a decoded message (null when absent).
  static Json metric(const Json& message, const std::string& name) {
    for (const auto& m : message["metrics"]) {
      if (m.value("name", "") == name) return m;
    }
    return nullptr;
  }

  ScratchDir dir_;
  SimThread meter_;
  Mosquitto broker_;
  Subscriber messages_;
  Publisher publisher_;
};

}  // namespace fieldgate::testing
