// Every duration and size of the schema has a range (config/bounds.hpp): the
// ends load, one step beyond is an error naming the key, where it is and the
// range (issue 14, D18). Names, units and topics have bounds too (C10).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/config.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/unit/config_test_support.hpp"

namespace fieldgate::config {
namespace {

// A configuration with every table; `{store}`, `{mqtt}`, `{bus}`, `{device}`,
// `{point}` and `{serial}` are where one key under test goes.
std::string with_key(const std::string& table, const std::string& line) {
  const auto at = [&](const char* name) { return table == name ? line : std::string(); };
  return fmt::format(R"toml(
[store]
{}
[mqtt]
{}
[[buses]]
name = "rs485"
port = "/dev/ttyUSB0"
{}
[[devices]]
name = "meter"
driver = "modbus-rtu"
bus = "rs485"
{}
  [[devices.points]]
  name = "voltage"
  kind = "input"
  address = 0
  {}
[[devices]]
name = "probe"
driver = "serial-line"
port = "/dev/ttyUSB1"
{}
  [[devices.points]]
  name = "t"
  field = 0
)toml",
                     at("store"), at("mqtt"), at("bus"), at("device"), at("point"), at("serial"));
}

struct Bound {
  std::string table;
  std::string key;
  std::string min;    // the smallest value allowed, as written
  std::string below;  // one step below it ("" when the minimum is 0)
  std::string max;
  std::string above;
};

const std::vector<Bound> kDurations{
    {"bus", "inter_frame_delay", "0s", "", "10s", "10001ms"},
    {"device", "poll_interval", "1ms", "0s", "1d", "86400001ms"},
    {"point", "interval", "1ms", "0s", "1d", "25h"},
    {"device", "response_timeout", "1ms", "0s", "5m", "300001ms"},
    {"device", "byte_timeout", "1ms", "0s", "1m", "60001ms"},
    {"device", "backoff_max", "1ms", "0s", "1h", "3600001ms"},
    {"serial", "stale_after", "1ms", "0s", "1d", "1000000000h"},
    {"store", "commit_interval", "1ms", "0s", "1h", "61m"},
    {"store", "max_age", "1ms", "0s", "3650d", "3651d"},
    {"store", "spill_after", "1ms", "0s", "1h", "2h"},
    {"mqtt", "connect_timeout", "1ms", "0s", "5m", "301s"},
    {"mqtt", "reconnect_min", "1ms", "0s", "1h", "3601s"},
    {"mqtt", "reconnect_max", "1ms", "0s", "1h", "9223372036854775807ms"},
    {"mqtt", "drain_timeout", "0s", "", "5m", "301s"},
    {"mqtt", "status_interval", "1s", "999ms", "1d", "2d"},
    {"mqtt", "command_max_age", "1ms", "0s", "1d", "1000000000h"},
};

const std::vector<Bound> kSizes{
    {"store", "max_bytes", "1MiB", "1048575B", "1TiB", "1099511627777B"},
    {"store", "spill_memory", "64KiB", "65535B", "1GiB", "1073741825B"},
};

std::string range_message(const Bound& b, const char* what, const std::string& got) {
  return fmt::format("{}: expected a {} from \"{}\" to \"{}\", got \"{}\"", b.key, what, b.min,
                     b.max, got);
}

TEST(ConfigBounds, EveryDurationLoadsAtItsEndsAndIsRefusedBeyond) {
  for (const Bound& b : kDurations) {
    // reconnect_min must stay at most reconnect_max (1s and 1m by default).
    const std::string extra = b.key == "reconnect_min"   ? "\nreconnect_max = \"1h\""
                              : b.key == "reconnect_max" ? "\nreconnect_min = \"1ms\""
                                                         : "";
    for (const std::string& ok : {b.min, b.max}) {
      EXPECT_NO_THROW((void)fieldgate::test_support::load_config_string(
          with_key(b.table, fmt::format("{} = \"{}\"{}", b.key, ok, extra)), "t.toml"))
          << b.key << " = " << ok;
    }
    for (const std::string& bad : {b.below, b.above}) {
      if (bad.empty()) continue;
      const std::string errors =
          errors_of(with_key(b.table, fmt::format("{} = \"{}\"{}", b.key, bad, extra)));
      EXPECT_NE(errors.find(range_message(b, "duration", bad)), std::string::npos)
          << b.key << " = " << bad << ": " << errors;
      EXPECT_NE(errors.find("t.toml:"), std::string::npos) << errors;
    }
  }
}

TEST(ConfigBounds, EverySizeLoadsAtItsEndsAndIsRefusedBeyond) {
  for (const Bound& b : kSizes) {
    for (const std::string& ok : {b.min, b.max}) {
      EXPECT_NO_THROW((void)fieldgate::test_support::load_config_string(
          with_key(b.table, fmt::format("{} = \"{}\"", b.key, ok)), "t.toml"))
          << b.key << " = " << ok;
    }
    for (const std::string& bad : {b.below, b.above}) {
      const std::string errors =
          errors_of(with_key(b.table, fmt::format("{} = \"{}\"", b.key, bad)));
      EXPECT_NE(errors.find(range_message(b, "size", bad)), std::string::npos)
          << b.key << " = " << bad << ": " << errors;
    }
  }
}

TEST(ConfigBounds, NumbersTooLargeToParseAreErrorsNotWrapped) {
  for (const char* text : {"99999999999999999999s", "18446744073709551616ms",
                           "9223372036854775808ms", "106751991167d"}) {
    const std::string errors =
        errors_of(with_key("device", fmt::format("poll_interval = \"{}\"", text)));
    EXPECT_NE(errors.find("poll_interval: expected a duration"), std::string::npos)
        << text << ": " << errors;
  }
  EXPECT_NE(
      errors_of(with_key("store", "max_bytes = \"99999999999999999999TiB\"")).find("(too large)"),
      std::string::npos);
  EXPECT_NE(errors_of(with_key("store", "max_rows = 2000000000"))
                .find("store.max_rows: expected an integer 1..1000000000, got 2000000000"),
            std::string::npos);
}

TEST(ConfigBounds, NamesAndUnitsHaveAMaximumLengthAndAreNotQuotedBack) {
  const std::string name(70000, 'p');
  const std::string errors =
      errors_of(with_key("point", fmt::format("unit = \"{}\"", std::string(65, 'u')))
                    .replace(with_key("point", "").find("name = \"voltage\""), 16,
                             fmt::format("name = \"{}\"", name)));
  EXPECT_NE(errors.find("devices[0].points[0].name: expected a name of at most 128 bytes, got "
                        "70000 bytes"),
            std::string::npos)
      << errors.substr(0, 500);
  EXPECT_NE(errors.find("devices[0].points[0].unit: expected at most 64 bytes, got 65 bytes"),
            std::string::npos);
  EXPECT_LT(errors.size(), 1000u) << "a name or unit was quoted back";
  // 128 bytes and 64 bytes are fine.
  EXPECT_NO_THROW((void)fieldgate::test_support::load_config_string(
      with_key("point", fmt::format("unit = \"{}\"", std::string(64, 'u')))
          .replace(with_key("point", "").find("name = \"voltage\""), 16,
                   fmt::format("name = \"{}\"", std::string(128, 'v'))),
      "t.toml"));
}

// One device with one writable point, under `topic`.
std::string topic_config(const std::string& mqtt, const std::string& device_name,
                         const std::string& point_name) {
  return fmt::format(R"toml(
[mqtt]
{}
[[devices]]
name = "{}"
driver = "modbus-tcp"
host = "h"
  [[devices.points]]
  name = "{}"
  kind = "holding"
  address = 0
  writable = true
)toml",
                     mqtt, device_name, point_name);
}

TEST(ConfigBounds, NoTopicCanExceedMqttsLimit) {
  // The reading topic: a long template and the longest names.
  const std::string device(128, 'd');
  const std::string point(128, 'p');
  const std::string long_template = std::string(65300, 'x') + "/{device}/{point}";
  EXPECT_EQ(errors_of(topic_config("topic = \"" + long_template + "\"", device, point)),
            "t.toml:3:9: mqtt.topic: devices[0].points[0] (" + device + "/" + point +
                ") publishes to a topic 65558 bytes long; MQTT allows at most 65535 (shorten the "
                "template or the names in it)");
  // The command topics: "<topic>/set" and "<topic>/set/result".
  const std::string at_limit = std::string(65535 - 11 - 2, 'x') + "/{point}";  // + "/p/set/result"
  EXPECT_NO_THROW((void)fieldgate::test_support::load_config_string(
      topic_config("topic = \"" + at_limit + "\"", "d", "p"), "t.toml"));
  EXPECT_EQ(errors_of(topic_config("topic = \"" + at_limit + "\"", "d", "pq")),
            "t.toml:3:9: mqtt.topic: devices[0].points[0] (d/pq)'s result topic is 65536 bytes "
            "long; MQTT allows at most 65535 (shorten the template or the names in it)");
  EXPECT_EQ(errors_of(topic_config("topic = \"" + at_limit + "\"\nresult_suffix = \"outcome\"", "d",
                                   "p")),
            "t.toml:3:9: mqtt.topic: devices[0].points[0] (d/p)'s result topic is 65536 bytes "
            "long; MQTT allows at most 65535 (shorten the template or the names in it)");
  // The stats topic: "<status topic>/stats".
  EXPECT_EQ(errors_of(topic_config("status_topic = \"" + std::string(65530, 's') + "\"", "d", "p")),
            "t.toml:3:16: mqtt.status_topic: the stats topic is 65536 bytes long; MQTT allows at "
            "most 65535 (shorten the template or the names in it)");
}

}  // namespace
}  // namespace fieldgate::config
