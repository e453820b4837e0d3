// Library meters as simulator profiles, end to end with the real binary:
// `fieldgate simulate modbus-tcp --profile eastron-sdm630` read by `fieldgate
// run` with a configuration that is only `model = "eastron-sdm630"` plus the
// connection, published to a real mosquitto with the model's units and Home
// Assistant classes (every entity checked by ha_discovery_check.py); a CDAB
// meter (carlogavazzi-em24) simulated on RTU over a pty pair and polled; an
// unknown profile is refused with the library's names.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/mosquitto.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kModelsEnv = "FIELDGATE_MODELS_DIR=" FIELDGATE_SOURCE_DIR "/models";

// The SDM630 model's points and the units the naming convention gives them
// (docs/MODELS.md), written out here rather than read from the model file.
std::map<std::string, std::string> sdm630_units() {
  std::map<std::string, std::string> units;
  for (const char* l : {"l1", "l2", "l3"}) {
    units[fmt::format("voltage_{}", l)] = "V";
    units[fmt::format("current_{}", l)] = "A";
    units[fmt::format("power_active_{}", l)] = "W";
    units[fmt::format("power_apparent_{}", l)] = "VA";
    units[fmt::format("power_reactive_{}", l)] = "var";
    units[fmt::format("power_factor_{}", l)] = "";
    units[fmt::format("thd_voltage_{}", l)] = "%";
    units[fmt::format("energy_import_{}", l)] = "kWh";
    units[fmt::format("energy_export_{}", l)] = "kWh";
  }
  for (const char* ll : {"l1_l2", "l2_l3", "l3_l1"}) units[fmt::format("voltage_{}", ll)] = "V";
  units["power_active_total"] = "W";
  units["power_apparent_total"] = "VA";
  units["power_reactive_total"] = "var";
  units["power_factor_total"] = "";
  units["frequency"] = "Hz";
  units["energy_import_total"] = "kWh";
  units["energy_export_total"] = "kWh";
  units["energy_total"] = "kWh";
  units["energy_reactive_import_total"] = "kvarh";
  units["energy_reactive_export_total"] = "kvarh";
  units["energy_reactive_total"] = "kvarh";
  units["current_n"] = "A";
  return units;
}

int port_of(const ChildProcess& sim) {
  const auto out = sim.stdout_text();
  return std::stoi(out.substr(out.rfind(':') + 1));
}

TEST(ModelSimulatorTest, OnlyTheModelNamePublishesTheSdm630WithItsUnitsAndHomeAssistantClasses) {
  ScratchDir scratch;
  ChildProcess sim(
      {kBinary, "simulate", "modbus-tcp", "--port", "0", "--profile", "eastron-sdm630"},
      scratch.path(), {kModelsEnv});
  ASSERT_TRUE(sim.wait_for_output("simulating eastron-sdm630 on Modbus TCP", 10s))
      << sim.stderr_text();
  Mosquitto broker(scratch.path());
  Subscriber states(broker.uri(), "fieldgate/gw/meter/#", 1);
  Subscriber configs(broker.uri(), "homeassistant/+/+/+/config", 1);
  ASSERT_TRUE(states.wait_connected(10s));
  ASSERT_TRUE(configs.wait_connected(10s));
  const auto config =
      scratch.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
commit_interval = "50ms"
[mqtt]
broker = "{}"
reconnect_min = "100ms"
reconnect_max = "500ms"
[homeassistant]
enabled = true

[[devices]]
name = "meter"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
model = "eastron-sdm630"
poll_interval = "300ms"
)",
                                                (scratch.path() / "buffer.db").string(),
                                                broker.uri(), port_of(sim)));
  ChildProcess run({kBinary, "run", "-c", config.string()}, scratch.path(), {kModelsEnv});

  const auto units = sdm630_units();
  const std::string base = "fieldgate/gw/meter/";
  // Every point at least twice (two polls), and every point's discovery config.
  std::map<std::string, std::vector<Json>> seen;
  std::map<std::string, Json> discovery;        // by point name
  std::map<std::string, std::string> topic_of;  // point name -> its discovery topic
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    seen.clear();
    for (const auto& m : states.messages()) {
      if (m.topic.ends_with("/availability") || !m.topic.starts_with(base)) continue;
      seen[m.topic.substr(base.size())].push_back(Json::parse(m.payload));
    }
    discovery.clear();
    for (const auto& m : configs.messages()) {
      if (m.payload.empty()) continue;
      auto j = Json::parse(m.payload);
      topic_of[j.value("name", "")] = m.topic;
      discovery[j.value("name", "")] = j;
    }
    const bool all = std::all_of(units.begin(), units.end(), [&](const auto& u) {
      return seen[u.first].size() >= 2 && discovery.contains(u.first);
    });
    if (all) break;
    states.wait_for(states.messages().size() + 1, 1s);
  }
  ::kill(run.pid(), SIGTERM);
  ASSERT_EQ(run.wait_exit(30s), 0) << run.stderr_text();

  // Exactly the model's points, each with its unit and a good value.
  std::set<std::string> published;
  for (const auto& [point, payloads] : seen) published.insert(point);
  std::set<std::string> expected;
  for (const auto& [point, unit] : units) expected.insert(point);
  EXPECT_EQ(published, expected) << run.stderr_text();
  for (const auto& [point, unit] : units) {
    ASSERT_GE(seen[point].size(), 2U) << point << "\n" << run.stderr_text();
    for (const Json& p : seen[point]) {
      EXPECT_EQ(p.value("unit", ""), unit) << point;
      EXPECT_EQ(p.at("quality"), "good") << point;
      ASSERT_TRUE(p.at("value").is_number()) << point << " " << p.dump();
    }
  }
  const auto value = [&](const std::string& point) {
    return seen[point].back().at("value").get<double>();
  };
  for (const char* v : {"voltage_l1", "voltage_l2", "voltage_l3"}) {
    EXPECT_GE(value(v), 207.0) << v;
    EXPECT_LE(value(v), 253.0) << v;
  }
  EXPECT_NEAR(value("frequency"), 50.0, 0.1);
  EXPECT_GT(value("power_factor_total"), 0.0);
  EXPECT_LE(value("power_factor_total"), 1.0);
  EXPECT_GT(value("power_active_total"), 0.0);
  // Counters never go back from one poll to the next.
  double last = 0;
  for (const Json& p : seen["energy_import_total"]) {
    EXPECT_GE(p.at("value").get<double>(), last);
    last = p.at("value").get<double>();
  }
  EXPECT_GT(last, 0.0);

  // Home Assistant: the classes follow the model's units and hints, the
  // device block is the model's.
  const auto& voltage = discovery.at("voltage_l1");
  EXPECT_EQ(voltage.value("device_class", ""), "voltage");
  EXPECT_EQ(voltage.value("unit_of_measurement", ""), "V");
  EXPECT_EQ(voltage.value("state_class", ""), "measurement");
  const auto& energy = discovery.at("energy_import_total");
  EXPECT_EQ(energy.value("device_class", ""), "energy");
  EXPECT_EQ(energy.value("unit_of_measurement", ""), "kWh");
  EXPECT_EQ(energy.value("state_class", ""), "total_increasing");
  EXPECT_EQ(discovery.at("power_factor_total").value("device_class", ""), "power_factor");
  EXPECT_EQ(discovery.at("frequency").value("device_class", ""), "frequency");
  EXPECT_EQ(discovery.at("power_reactive_total").value("device_class", ""), "reactive_power");
  EXPECT_EQ(voltage.at("device").value("manufacturer", ""), "Eastron");
  EXPECT_EQ(voltage.at("device").value("model", ""), "SDM630");

  // Every entity as Home Assistant would take it (tests/integration/
  // ha_discovery_check.py: keys, class/unit pairs, templates rendered against
  // the last state message).
  std::map<std::string, std::string> last_state;
  for (const auto& m : states.messages()) last_state[m.topic] = m.payload;
  Json entries = Json::array();
  for (const auto& [point, unit] : units) {
    entries.push_back({{"topic", topic_of.at(point)},
                       {"config", discovery.at(point)},
                       {"format", "json"},
                       {"point", point},
                       {"state", last_state.at(base + point)}});
  }
  const auto file = scratch.write("entities.json", entries.dump(2));
  const auto check =
      run_command({FIELDGATE_PYTHON,
                   FIELDGATE_SOURCE_DIR "/tests/integration/ha_discovery_check.py", file.string()},
                  scratch.path());
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  // Its last line: what each value_template rendered.
  const Json rendered =
      Json::parse(check.out.substr(check.out.rfind('\n', check.out.size() - 2) + 1));
  EXPECT_EQ(rendered.size(), units.size()) << check.out;
  const double last_voltage = Json::parse(last_state.at(base + "voltage_l1")).at("value");
  EXPECT_NEAR(std::stod(rendered.at(topic_of.at("voltage_l1")).get<std::string>()), last_voltage,
              1e-6);
}

TEST(ModelSimulatorTest, ACdabLibraryMeterOnRtuIsReadByItsModel) {
  ScratchDir scratch;
  PtyPair pty(scratch.path());
  ChildProcess sim({kBinary, "simulate", "modbus-rtu", "--device", pty.a(), "--baud", "19200",
                    "--unit", "7", "--profile", "carlogavazzi-em24"},
                   scratch.path(), {kModelsEnv});
  ASSERT_TRUE(sim.wait_for_output("simulating carlogavazzi-em24 on Modbus RTU", 10s))
      << sim.stderr_text();
  const auto config =
      scratch.write("gateway.toml", fmt::format(R"(
[gateway]
name = "gw"
[store]
path = "{}"
[mqtt]
broker = "tcp://127.0.0.1:1"
[[buses]]
name = "rs485-1"
port = "{}"
baud = 19200
[[devices]]
name = "em24"
driver = "modbus-rtu"
bus = "rs485-1"
unit_id = 7
model = "carlogavazzi-em24"
)",
                                                (scratch.path() / "buffer.db").string(), pty.b()));
  const auto poll = run_command({kBinary, "poll", "-c", config.string(), "--once", "--json"},
                                scratch.path(), 60s, {kModelsEnv});
  ASSERT_EQ(poll.exit_code, 0) << poll.err;
  std::map<std::string, Json> readings;
  std::istringstream lines(poll.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = Json::parse(line);
    readings[j.at("point").get<std::string>()] = j;
  }
  // Word-swapped int32 with 0.1 V and 0.001 A resolution, int16 frequency:
  // read with the model's order and scales they are a mains meter's values.
  ASSERT_TRUE(readings.contains("voltage_l1")) << poll.out;
  EXPECT_NEAR(readings.at("voltage_l1").at("value").get<double>(), 230.0, 10.0);
  EXPECT_EQ(readings.at("voltage_l1").at("unit"), "V");
  EXPECT_NEAR(readings.at("frequency").at("value").get<double>(), 50.0, 0.1);
  EXPECT_GT(readings.at("current_l1").at("value").get<double>(), 1.0);
  EXPECT_LT(readings.at("current_l1").at("value").get<double>(), 20.0);
  EXPECT_GT(readings.at("energy_import_total").at("value").get<double>(), 100.0);
  EXPECT_EQ(readings.at("energy_import_total").at("unit"), "kWh");
  for (const auto& [point, j] : readings) EXPECT_EQ(j.at("quality"), "good") << point;
}

TEST(ModelSimulatorTest, AnUnknownProfileNamesTheLibrarysModels) {
  ScratchDir scratch;
  const auto result =
      run_command({kBinary, "simulate", "modbus-tcp", "--port", "0", "--profile", "eastron-sdm63"},
                  scratch.path(), 30s, {kModelsEnv});
  EXPECT_NE(result.exit_code, 0);
  const auto text = result.out + result.err;
  EXPECT_NE(text.find("unknown simulator profile \"eastron-sdm63\" (did you mean "
                      "\"eastron-sdm630\"?)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("carlogavazzi-em24"), std::string::npos) << text;

  const auto help =
      run_command({kBinary, "simulate", "modbus-rtu", "--help"}, scratch.path(), 30s, {kModelsEnv});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("eastron-sdm630"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace fieldgate::testing
