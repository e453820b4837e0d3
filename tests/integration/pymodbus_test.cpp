// fieldgate against pymodbus, an independent Modbus implementation whose own
// payload builder encoded every value (tests/integration/pymodbus_server.py).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.hpp"
#include "tests/support/process.hpp"

namespace fieldgate::testing {
namespace {

class PymodbusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // pymodbus cannot report an ephemeral port; take a free one and retry on a race.
    // A server that does not start is reported with its stderr (a missing
    // Python module says which one).
    std::string failure;
    for (int attempt = 0; attempt < 3 && !server_; ++attempt) {
      port_ = free_loopback_port();
      try {
        server_ = start_peer(
            {FIELDGATE_PYTHON, FIELDGATE_SOURCE_DIR "/tests/integration/pymodbus_server.py",
             std::to_string(port_)},
            scratch_.path(), "ready", std::chrono::seconds(20));
      } catch (const std::runtime_error& e) {
        failure = e.what();
      }
    }
    ASSERT_TRUE(server_) << "pymodbus server did not start: " << failure;
  }

  std::string config(const std::string& points, const std::string& device_extra = "") const {
    return fmt::format(R"(
[[devices]]
name = "py"
driver = "modbus-tcp"
host = "127.0.0.1"
port = {}
unit_id = 1
response_timeout = "2s"
{}
{}
)",
                       port_, device_extra, points);
  }

  ScratchDir scratch_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(PymodbusTest, DecodesEveryTypeAndByteOrderEncodedByPymodbus) {
  InlineGateway gateway(config(R"(
[[devices.points]]
name = "f32_abcd"
kind = "holding"
address = 0
type = "float32"
[[devices.points]]
name = "f32_cdab"
kind = "holding"
address = 2
type = "float32"
byte_order = "CDAB"
[[devices.points]]
name = "f32_badc"
kind = "holding"
address = 4
type = "float32"
byte_order = "BADC"
[[devices.points]]
name = "f32_dcba"
kind = "holding"
address = 6
type = "float32"
byte_order = "DCBA"
[[devices.points]]
name = "i16"
kind = "holding"
address = 8
type = "int16"
[[devices.points]]
name = "u16"
kind = "holding"
address = 9
type = "uint16"
[[devices.points]]
name = "i32"
kind = "holding"
address = 10
type = "int32"
[[devices.points]]
name = "u32_cdab"
kind = "holding"
address = 12
type = "uint32"
byte_order = "CDAB"
[[devices.points]]
name = "i64"
kind = "holding"
address = 14
type = "int64"
[[devices.points]]
name = "u64_dcba"
kind = "holding"
address = 18
type = "uint64"
byte_order = "DCBA"
[[devices.points]]
name = "f64_cdab"
kind = "holding"
address = 22
type = "float64"
byte_order = "CDAB"
[[devices.points]]
name = "label"
kind = "holding"
address = 26
type = "string"
count = 6
[[devices.points]]
name = "flag_bit0"
kind = "holding"
address = 32
type = "bit"
bit = 0
[[devices.points]]
name = "flag_bit1"
kind = "holding"
address = 32
type = "bit"
bit = 1
[[devices.points]]
name = "i16_badc"
kind = "holding"
address = 33
type = "int16"
byte_order = "BADC"
[[devices.points]]
name = "frequency"
kind = "input"
address = 0
type = "float32"
unit = "Hz"
[[devices.points]]
name = "coil0"
kind = "coil"
address = 0
[[devices.points]]
name = "coil1"
kind = "coil"
address = 1
[[devices.points]]
name = "coil2"
kind = "coil"
address = 2
[[devices.points]]
name = "di1"
kind = "discrete_input"
address = 1
)"));
  const auto r = gateway.read_all();
  EXPECT_DOUBLE_EQ(value_of<double>(r, "py/f32_abcd"), 230.5);
  EXPECT_DOUBLE_EQ(value_of<double>(r, "py/f32_cdab"), 230.5);
  EXPECT_DOUBLE_EQ(value_of<double>(r, "py/f32_badc"), 230.5);
  EXPECT_DOUBLE_EQ(value_of<double>(r, "py/f32_dcba"), 230.5);
  EXPECT_EQ(value_of<std::int64_t>(r, "py/i16"), -1234);
  EXPECT_EQ(value_of<std::int64_t>(r, "py/u16"), 65000);
  EXPECT_EQ(value_of<std::int64_t>(r, "py/i32"), -123456);
  EXPECT_EQ(value_of<std::int64_t>(r, "py/u32_cdab"), 4000000000LL);
  EXPECT_EQ(value_of<std::int64_t>(r, "py/i64"), -9876543210LL);
  EXPECT_EQ(value_of<std::int64_t>(r, "py/u64_dcba"), 1234567890123LL);
  EXPECT_DOUBLE_EQ(value_of<double>(r, "py/f64_cdab"), -0.015625);
  EXPECT_EQ(value_of<std::string>(r, "py/label"), "PYMODBUS-01");
  EXPECT_FALSE(value_of<bool>(r, "py/flag_bit0"));
  EXPECT_TRUE(value_of<bool>(r, "py/flag_bit1"));
  EXPECT_EQ(value_of<std::int64_t>(r, "py/i16_badc"), -2);
  EXPECT_NEAR(value_of<double>(r, "py/frequency"), 49.98, 1e-5);
  EXPECT_EQ(r.at("py/frequency").unit, "Hz");
  EXPECT_TRUE(value_of<bool>(r, "py/coil0"));
  EXPECT_FALSE(value_of<bool>(r, "py/coil1"));
  EXPECT_TRUE(value_of<bool>(r, "py/coil2"));
  EXPECT_TRUE(value_of<bool>(r, "py/di1"));

  // Coalesced: all holding points in one request, plus input, coils, discrete inputs.
  EXPECT_EQ(gateway.driver(0).health().requests, 4u);
  EXPECT_EQ(gateway.driver(0).health().consecutive_failures, 0);
}

TEST_F(PymodbusTest, ExceptionFromPymodbusIsReportedPerPointWithoutAValue) {
  InlineGateway gateway(config(R"(
[[devices.points]]
name = "present"
kind = "holding"
address = 9
[[devices.points]]
name = "missing"
kind = "holding"
address = 500
)"));
  const auto r = gateway.read_all();
  EXPECT_EQ(value_of<std::int64_t>(r, "py/present"), 65000);
  const auto& missing = r.at("py/missing");
  EXPECT_EQ(missing.quality, Quality::kException);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(missing.value));
  EXPECT_NE(missing.error.find("Illegal data address"), std::string::npos) << missing.error;
  EXPECT_EQ(gateway.driver(0).health().exceptions, 1u);
  // A device that answers (even with an exception) is not down.
  EXPECT_EQ(gateway.driver(0).health().consecutive_failures, 0);
}

// Every type and byte order written by fieldgate's encoder, read back by
// pymodbus' own client and decoder (tests/integration/pymodbus_read.py).
TEST_F(PymodbusTest, WritesEveryTypeAndByteOrderSoPymodbusDecodesThem) {
  InlineGateway gateway(config(R"(
[[devices.points]]
name = "f32_abcd"
kind = "holding"
address = 0
type = "float32"
writable = true
[[devices.points]]
name = "f32_cdab"
kind = "holding"
address = 2
type = "float32"
byte_order = "CDAB"
writable = true
write_function = "multiple"
[[devices.points]]
name = "f32_badc"
kind = "holding"
address = 4
type = "float32"
byte_order = "BADC"
writable = true
[[devices.points]]
name = "f32_dcba"
kind = "holding"
address = 6
type = "float32"
byte_order = "DCBA"
writable = true
[[devices.points]]
name = "i16"
kind = "holding"
address = 8
type = "int16"
writable = true
[[devices.points]]
name = "u16"
kind = "holding"
address = 9
type = "uint16"
writable = true
write_function = "multiple"
[[devices.points]]
name = "i32"
kind = "holding"
address = 10
type = "int32"
writable = true
[[devices.points]]
name = "u32_cdab"
kind = "holding"
address = 12
type = "uint32"
byte_order = "CDAB"
writable = true
[[devices.points]]
name = "i64"
kind = "holding"
address = 14
type = "int64"
writable = true
[[devices.points]]
name = "u64_dcba"
kind = "holding"
address = 18
type = "uint64"
byte_order = "DCBA"
writable = true
[[devices.points]]
name = "f64_cdab"
kind = "holding"
address = 22
type = "float64"
byte_order = "CDAB"
writable = true
[[devices.points]]
name = "label"
kind = "holding"
address = 26
type = "string"
count = 6
writable = true
[[devices.points]]
name = "flag_bit0"
kind = "holding"
address = 32
type = "bit"
bit = 0
writable = true
[[devices.points]]
name = "i16_badc"
kind = "holding"
address = 33
type = "int16"
byte_order = "BADC"
scale = 0.5
writable = true
[[devices.points]]
name = "coil1"
kind = "coil"
address = 1
writable = true
[[devices.points]]
name = "coil2"
kind = "coil"
address = 2
writable = true
write_function = "multiple"
)"));
  const std::vector<std::pair<std::string, Value>> writes = {
      {"f32_abcd", -12.25},
      {"f32_cdab", 1013.25},
      {"f32_badc", 0.5},
      {"f32_dcba", -7.75},
      {"i16", std::int64_t{-32000}},
      {"u16", std::int64_t{12345}},
      {"i32", std::int64_t{2000000000}},
      {"u32_cdab", std::int64_t{3000000001LL}},
      {"i64", std::int64_t{-1234567890123LL}},
      {"u64_dcba", std::int64_t{9876543210987LL}},
      {"f64_cdab", 3.141592653589793},
      {"label", std::string("FIELDGATE")},
      {"flag_bit0", true},
      {"i16_badc", 617.0},  // scale 0.5: raw 1234
      {"coil1", true},
      {"coil2", false},
  };
  for (const auto& [point, value] : writes) {
    const auto result = gateway.driver(0).write(point, value);
    EXPECT_EQ(result.status, drivers::WriteStatus::kOk) << point << ": " << result.error;
    EXPECT_EQ(result.readback, value) << point;
  }
  EXPECT_EQ(gateway.driver(0).health().exceptions, 0u);

  const auto read =
      run_command({FIELDGATE_PYTHON, FIELDGATE_SOURCE_DIR "/tests/integration/pymodbus_read.py",
                   std::to_string(port_)},
                  scratch_.path());
  ASSERT_EQ(read.exit_code, 0) << read.err;
  const auto j = nlohmann::json::parse(read.out);
  EXPECT_DOUBLE_EQ(j.at("f32_abcd").get<double>(), -12.25);
  EXPECT_DOUBLE_EQ(j.at("f32_cdab").get<double>(), 1013.25);
  EXPECT_DOUBLE_EQ(j.at("f32_badc").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j.at("f32_dcba").get<double>(), -7.75);
  EXPECT_EQ(j.at("i16").get<int>(), -32000);
  EXPECT_EQ(j.at("u16").get<int>(), 12345);
  EXPECT_EQ(j.at("i32").get<std::int64_t>(), 2000000000);
  EXPECT_EQ(j.at("u32_cdab").get<std::int64_t>(), 3000000001LL);
  EXPECT_EQ(j.at("i64").get<std::int64_t>(), -1234567890123LL);
  EXPECT_EQ(j.at("u64_dcba").get<std::int64_t>(), 9876543210987LL);
  EXPECT_DOUBLE_EQ(j.at("f64_cdab").get<double>(), 3.141592653589793);
  EXPECT_EQ(j.at("label").get<std::string>(), "FIELDGATE");
  // Bit 0 set by a read-modify-write: bits 1 and 3 of 0b1010 untouched.
  EXPECT_EQ(j.at("flags").get<int>(), 0b1011);
  EXPECT_EQ(j.at("i16_badc").get<int>(), 1234);
  EXPECT_EQ(j.at("coils"), nlohmann::json::parse("[true, true, false]"));
}

TEST_F(PymodbusTest, AnExceptionToAWriteIsReportedAsAFailure) {
  InlineGateway gateway(config(R"(
[[devices.points]]
name = "beyond_the_map"
kind = "holding"
address = 500
writable = true
)"));
  const auto result = gateway.driver(0).write("beyond_the_map", std::int64_t{1});
  EXPECT_EQ(result.status, drivers::WriteStatus::kFailed);
  EXPECT_EQ(result.quality, Quality::kException);
  EXPECT_NE(result.error.find("device exception"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("(FC6)"), std::string::npos) << result.error;
  EXPECT_TRUE(std::holds_alternative<std::monostate>(result.readback));
  EXPECT_EQ(gateway.driver(0).health().exceptions, 1u);
}

}  // namespace
}  // namespace fieldgate::testing
