// The serial-line driver over pty pairs made with openpty(): the test plays
// the instrument on the master side, the driver reads the slave like a
// /dev/ttyUSB0. Streaming and request/response, every framing the examples
// use, bad input of every kind, staleness, and an adapter unplugged and
// plugged back in (a symlink that disappears and comes back).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "config/config.hpp"
#include "drivers/serial/checksum.hpp"
#include "drivers/serial/serial_line_driver.hpp"
#include "tests/support/config_loading.hpp"
#include "tests/support/process.hpp"
#include "tests/support/pty.hpp"

namespace fieldgate::testing {
namespace {

using drivers::Clock;
using std::chrono::milliseconds;

/// A device from a [[devices]] table written in TOML, port filled in.
config::DeviceConfig device_from(const std::string& port, const std::string& keys,
                                 const std::string& points) {
  const auto text =
      fmt::format("[[devices]]\nname = \"dev\"\ndriver = \"serial-line\"\nport = \"{}\"\n{}\n{}",
                  port, keys, points);
  return fieldgate::test_support::load_config_string(text, "inline.toml").devices.at(0);
}

constexpr const char* kCardioKeys = R"(
start_byte = "$"
delimiter = "\r\n"
max_frame = 64
checksum = "nmea-xor"
parse = "key-value"
separator = ","
assign = ","
poll_interval = "10ms"
)";

constexpr const char* kCardioPoints = R"(
[[devices.points]]
name = "hr"
key = "HR"
type = "int"
unit = "bpm"
[[devices.points]]
name = "spo2"
key = "SPO2"
type = "int"
[[devices.points]]
name = "sys"
key = "NIBP"
split = "/"
part = 0
type = "int"
[[devices.points]]
name = "dia"
key = "NIBP"
split = "/"
part = 1
type = "int"
)";

std::string cardio_line(const std::string& body) {
  return fmt::format("${}*{:02X}\r\n", body, serial::xor8(body));
}

/// Polls when the device is next due (real time, so staleness is real too).
Batch poll_due(drivers::Driver& driver) {
  std::this_thread::sleep_until(driver.next_due());
  return driver.poll(Clock::now(), false);
}

/// Polls until a batch has readings or `timeout` passes (bytes take a moment through a pty).
Batch poll_until_readings(drivers::Driver& driver, milliseconds timeout = milliseconds(3000)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto batch = poll_due(driver);
    if (!batch.empty()) return batch;
  }
  return {};
}

std::multimap<std::string, Reading> by_point(const Batch& batch) {
  std::multimap<std::string, Reading> out;
  for (const auto& r : batch) out.emplace(r.point, r);
  return out;
}

std::vector<std::int64_t> ints_of(const Batch& batch, const std::string& point) {
  std::vector<std::int64_t> out;
  for (const auto& r : batch) {
    if (r.point == point && r.quality == Quality::kGood)
      out.push_back(std::get<std::int64_t>(r.value));
  }
  return out;
}

TEST(SerialDriverTest, FramesSplitAcrossReadsAndManyInOneRead) {
  OpenPty pty;
  serial::SerialLineDriver driver(device_from(pty.slave_path(), kCardioKeys, kCardioPoints));
  EXPECT_TRUE(poll_due(driver).empty());  // opens the port; nothing sent yet
  EXPECT_TRUE(driver.health().connected);

  const std::string first = cardio_line("HR,72,SPO2,98");
  pty.write(first.substr(0, 9));
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_TRUE(poll_due(driver).empty()) << "half a frame is no reading";
  pty.write(first.substr(9) + cardio_line("HR,73,SPO2,97,NIBP,120/80") + cardio_line("HR,74"));
  const auto batch = poll_until_readings(driver);
  EXPECT_EQ(ints_of(batch, "hr"), (std::vector<std::int64_t>{72, 73, 74}));
  EXPECT_EQ(ints_of(batch, "spo2"), (std::vector<std::int64_t>{98, 97}));
  EXPECT_EQ(ints_of(batch, "sys"), (std::vector<std::int64_t>{120}));
  EXPECT_EQ(ints_of(batch, "dia"), (std::vector<std::int64_t>{80}));
  for (const auto& r : batch) {
    EXPECT_EQ(r.device, "dev");
    EXPECT_GT(r.source_ts_ms, 0);
  }
  EXPECT_EQ(by_point(batch).find("hr")->second.unit, "bpm");
  EXPECT_EQ(driver.health().frames, 3u);
  EXPECT_EQ(driver.health().bad_responses, 0u);
  EXPECT_NE(driver.health().last_good_ms, 0);
  EXPECT_EQ(driver.health().consecutive_failures, 0);
}

TEST(SerialDriverTest, GarbageBadChecksumsOversizeAndBadValuesAreCountedNeverValues) {
  OpenPty pty;
  serial::SerialLineDriver driver(device_from(pty.slave_path(), kCardioKeys, kCardioPoints));
  std::vector<drivers::RawFrame> raw;
  driver.set_raw_frame_sink([&](const drivers::RawFrame& f) { raw.push_back(f); });
  (void)poll_due(driver);
  pty.write(cardio_line("HR,60"));
  ASSERT_EQ(ints_of(poll_until_readings(driver), "hr"), (std::vector<std::int64_t>{60}));

  std::string bad_checksum = cardio_line("HR,61");
  bad_checksum[bad_checksum.size() - 3] ^= 0x01;
  const std::string oversize = "$" + std::string(100, '7') + "\r\n";
  pty.write(bad_checksum + std::string("\x00\xFF\x13", 3) + cardio_line("HR,62") + oversize +
            cardio_line("HR,6x") + "no dollar\r\n" + cardio_line("HR,63"));
  Batch batch;
  for (int i = 0; i < 100 && ints_of(batch, "hr").size() < 2; ++i) {
    for (auto& r : poll_due(driver)) batch.push_back(r);
  }
  EXPECT_EQ(ints_of(batch, "hr"), (std::vector<std::int64_t>{62, 63}));
  // "6x" is not an integer: a reading without a value, never a number.
  const auto refused = std::count_if(batch.begin(), batch.end(), [](const Reading& r) {
    return r.quality == Quality::kBadResponse && std::holds_alternative<std::monostate>(r.value) &&
           r.error.find("expected an integer") != std::string::npos;
  });
  EXPECT_EQ(refused, 1);
  const auto& h = driver.health();
  EXPECT_EQ(h.bad_responses, 3u);    // checksum, oversize, bad value
  EXPECT_GT(h.discarded_bytes, 3u);  // the noise and "no dollar\r\n"
  EXPECT_NE(h.last_bad_frame.find("$HR,6x*"), std::string::npos) << h.last_bad_frame;
  EXPECT_NE(h.last_bad_frame.find("\\r\\n"), std::string::npos) << "escaped: " << h.last_bad_frame;
  EXPECT_EQ(h.consecutive_failures, 0);  // the device talks; some frames were bad

  std::map<std::string, int> verdicts;
  for (const auto& f : raw) ++verdicts[f.verdict.substr(0, f.verdict.find(':'))];
  EXPECT_EQ(verdicts["ok"], 3);
  EXPECT_EQ(verdicts["bad"], 3);
  EXPECT_EQ(verdicts["garbage"], 2);
  const auto checksum_frame = std::find_if(raw.begin(), raw.end(), [](const auto& f) {
    return f.verdict.find("checksum") != std::string::npos;
  });
  ASSERT_NE(checksum_frame, raw.end());
  EXPECT_EQ(checksum_frame->bytes.substr(checksum_frame->bytes.size() - 4), "\\r\\n");
  EXPECT_EQ(
      std::count_if(raw.begin(), raw.end(),
                    [](const auto& f) { return f.bytes.find("\\x00\\xFF") != std::string::npos; }),
      1);
}

TEST(SerialDriverTest, TheCutFrameRightAfterOpeningIsPartialNotBad) {
  OpenPty pty;
  serial::SerialLineDriver driver(device_from(pty.slave_path(), kCardioKeys, kCardioPoints));
  std::vector<drivers::RawFrame> raw;
  driver.set_raw_frame_sink([&](const drivers::RawFrame& f) { raw.push_back(f); });
  (void)poll_due(driver);
  // The monitor was mid-line when we started listening: a tail with a '$' inside.
  pty.write("$PO2,98*11\r\n" + cardio_line("HR,70"));
  EXPECT_EQ(ints_of(poll_until_readings(driver), "hr"), (std::vector<std::int64_t>{70}));
  EXPECT_EQ(driver.health().bad_responses, 0u);
  ASSERT_FALSE(raw.empty());
  EXPECT_EQ(raw.front().verdict.rfind("partial", 0), 0u) << raw.front().verdict;
}

TEST(SerialDriverTest, AQuietDeviceIsReportedStaleOncePerPeriodAndRecovers) {
  OpenPty pty;
  serial::SerialLineDriver driver(device_from(
      pty.slave_path(), std::string(kCardioKeys) + "stale_after = \"300ms\"\n", kCardioPoints));
  (void)poll_due(driver);
  pty.write(cardio_line("HR,80"));
  ASSERT_FALSE(poll_until_readings(driver).empty());
  std::this_thread::sleep_for(milliseconds(350));
  const auto stale = poll_due(driver);
  ASSERT_EQ(stale.size(), 4u);  // one per point
  for (const auto& r : stale) {
    EXPECT_EQ(r.quality, Quality::kTimeout);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(r.value));
    EXPECT_EQ(r.error.rfind("stale: no frame for", 0), 0u) << r.error;
  }
  // Not a failed poll: no back-off, so the frames after the dropout are read on time.
  EXPECT_EQ(driver.health().consecutive_failures, 0);
  EXPECT_EQ(driver.health().last_error.rfind("stale", 0), 0u);
  EXPECT_EQ(driver.health().timeouts, 1u);
  EXPECT_TRUE(poll_due(driver).empty()) << "reported once per stale_after, not every poll";

  pty.write(cardio_line("HR,81"));
  EXPECT_EQ(ints_of(poll_until_readings(driver), "hr"), (std::vector<std::int64_t>{81}));
  EXPECT_EQ(driver.health().consecutive_failures, 0);
  EXPECT_EQ(driver.health().last_error, "");
}

TEST(SerialDriverTest, AnUnpluggedAdapterIsReportedAndReopenedWhenItComesBack) {
  ScratchDir dir;
  const auto link = dir.path() / "ttyUSB0";
  auto pty = std::make_unique<OpenPty>();
  std::filesystem::create_symlink(pty->slave_path(), link);
  serial::SerialLineDriver driver(device_from(link.string(), kCardioKeys, kCardioPoints));
  (void)poll_due(driver);
  pty->write(cardio_line("HR,90"));
  ASSERT_EQ(ints_of(poll_until_readings(driver), "hr"), (std::vector<std::int64_t>{90}));

  // Unplug: the adapter hangs up and its device node disappears.
  pty->close_master();
  std::filesystem::remove(link);
  const auto lost = poll_due(driver);
  ASSERT_EQ(lost.size(), 4u);
  for (const auto& r : lost) EXPECT_EQ(r.quality, Quality::kNoConnection) << r.error;
  EXPECT_FALSE(driver.health().connected);
  const auto gone = poll_due(driver);
  ASSERT_FALSE(gone.empty());
  EXPECT_EQ(gone.front().quality, Quality::kNoConnection);
  EXPECT_NE(gone.front().error.find("No such file"), std::string::npos) << gone.front().error;
  EXPECT_GE(driver.health().connection_errors, 2u);
  EXPECT_GE(driver.health().consecutive_failures, 2);  // the scheduler backs off on these

  // Plugged back in: a new device behind the same path.
  pty = std::make_unique<OpenPty>();
  std::filesystem::create_symlink(pty->slave_path(), link);
  EXPECT_TRUE(poll_due(driver).empty());  // reopened, nothing sent yet
  EXPECT_TRUE(driver.health().connected);
  EXPECT_EQ(driver.health().consecutive_failures, 0);
  pty->write(cardio_line("HR,91"));
  EXPECT_EQ(ints_of(poll_until_readings(driver), "hr"), (std::vector<std::int64_t>{91}));
}

// A scale on STX/ETX framing with a binary CRC-16/MODBUS after ETX, asked for
// its weight with a request.
constexpr const char* kScaleKeys = R"(
mode = "request"
request = "W\r\n"
response_timeout = "300ms"
poll_interval = "10ms"
framing = "start-end"
start_byte = 0x02
end_byte = 0x03
checksum = "crc16-modbus"
checksum_position = "after-end"
parse = "fields"
separator = ","
)";
constexpr const char* kScalePoints = R"(
[[devices.points]]
name = "status"
field = 0
type = "string"
[[devices.points]]
name = "weight"
field = 1
unit = "kg"
)";

std::string scale_reply(const std::string& content, bool corrupt = false) {
  std::string crc = serial::encode_checksum(serial::ChecksumKind::kCrc16Modbus,
                                            serial::ChecksumFormat::kBinary, content + "\x03");
  if (corrupt) crc[0] = static_cast<char>(crc[0] ^ 0x40);
  return "\x02" + content + "\x03" + crc;
}

/// Answers the next request on the pty with `reply` (nothing when empty).
std::thread answer(const OpenPty& pty, std::string reply, std::string* request_seen) {
  return std::thread([&pty, reply, request_seen] {
    *request_seen = pty.read(milliseconds(2000));
    if (!reply.empty()) pty.write(reply);
  });
}

TEST(SerialDriverTest, RequestResponseGoodBadSilentAndIncompleteReplies) {
  OpenPty pty;
  serial::SerialLineDriver driver(device_from(pty.slave_path(), kScaleKeys, kScalePoints));
  std::string request;

  auto t = answer(pty, scale_reply("ST,+0012.345"), &request);
  auto batch = poll_due(driver);
  t.join();
  EXPECT_EQ(request, "W\r\n");
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(std::get<std::string>(by_point(batch).find("status")->second.value), "ST");
  EXPECT_DOUBLE_EQ(std::get<double>(by_point(batch).find("weight")->second.value), 12.345);
  EXPECT_EQ(driver.health().requests, 1u);

  t = answer(pty, scale_reply("ST,+0012.345", true), &request);
  batch = poll_due(driver);
  t.join();
  ASSERT_EQ(batch.size(), 2u);
  for (const auto& r : batch) {
    EXPECT_EQ(r.quality, Quality::kBadResponse);
    EXPECT_NE(r.error.find("checksum"), std::string::npos) << r.error;
  }

  t = answer(pty, "", &request);
  batch = poll_due(driver);
  t.join();
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].quality, Quality::kTimeout);
  EXPECT_EQ(batch[0].error, "no reply within 300ms");

  t = answer(pty, "\x02ST,+00", &request);
  batch = poll_due(driver);
  t.join();
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].quality, Quality::kTimeout);
  EXPECT_NE(batch[0].error.find("incomplete reply"), std::string::npos) << batch[0].error;

  // The late rest of that reply must not pass for the answer to the next request.
  pty.write("12.345\x03zz");
  t = answer(pty, scale_reply("ST,+0001.000"), &request);
  batch = poll_due(driver);
  t.join();
  EXPECT_DOUBLE_EQ(std::get<double>(by_point(batch).find("weight")->second.value), 1.0);

  const auto& h = driver.health();
  EXPECT_EQ(h.requests, 5u);
  EXPECT_EQ(h.timeouts, 2u);
  EXPECT_EQ(h.bad_responses, 1u);
  EXPECT_EQ(h.consecutive_failures, 0);
}

TEST(SerialDriverTest, NmeaGpsSentenceParsedWithARegex) {
  OpenPty pty;
  serial::SerialLineDriver driver(device_from(pty.slave_path(), R"(
baud = 4800
checksum = "nmea-xor"
parse = "regex"
pattern = '^GPGGA,(?<time>\d{6}),(?<lat>\d+\.\d+),[NS],(?<lon>\d+\.\d+),[EW],(?<fix>\d),(?<sats>\d+),'
poll_interval = "10ms"
)",
                                              R"(
[[devices.points]]
name = "latitude_raw"
group = "lat"
[[devices.points]]
name = "satellites"
group = "sats"
type = "int"
[[devices.points]]
name = "fix"
group = "fix"
type = "bool"
)"));
  (void)poll_due(driver);
  pty.write(
      "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
      "$GPGSV,2,1,08,01,40,083,46*4E\r\n");  // another sentence: no match, counted
  Batch batch;
  for (int i = 0; i < 100 && driver.health().frames < 2; ++i) {
    for (auto& r : poll_due(driver)) batch.push_back(r);
  }
  const auto points = by_point(batch);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_DOUBLE_EQ(std::get<double>(points.find("latitude_raw")->second.value), 4807.038);
  EXPECT_EQ(std::get<std::int64_t>(points.find("satellites")->second.value), 8);
  EXPECT_TRUE(std::get<bool>(points.find("fix")->second.value));
  EXPECT_EQ(driver.health().bad_responses, 1u);
  EXPECT_NE(driver.health().last_bad_frame.find("does not match"), std::string::npos);
}

TEST(SerialDriverTest, FixedLengthFramesWithSum8AndLfOnlyDeviceOnACrlfConfig) {
  OpenPty pty;
  serial::SerialLineDriver driver(device_from(pty.slave_path(), R"(
framing = "fixed"
frame_length = 6
start_byte = 0xAA
checksum = "sum8"
parse = "regex"
pattern = '^(?<level>\d{4})$'
poll_interval = "10ms"
)",
                                              R"(
[[devices.points]]
name = "level"
group = "level"
type = "int"
scale = 0.1
)"));
  (void)poll_due(driver);
  const auto frame = [](const std::string& digits) {
    return "\xAA" + digits +
           serial::encode_checksum(serial::ChecksumKind::kSum8, serial::ChecksumFormat::kBinary,
                                   digits);
  };
  pty.write("\x01" + frame("0123") + frame("0456"));
  Batch batch;
  for (int i = 0; i < 100 && batch.size() < 2; ++i) {
    for (auto& r : poll_due(driver)) batch.push_back(r);
  }
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_DOUBLE_EQ(std::get<double>(batch[0].value), 12.3);
  EXPECT_DOUBLE_EQ(std::get<double>(batch[1].value), 45.6);

  // A device that ends its lines with LF only, on a "\r\n" configuration:
  // each line is refused as a bad frame that says how it ended (issue 14, E23).
  OpenPty lf;
  serial::SerialLineDriver crlf(device_from(lf.slave_path(), R"(
delimiter = "\r\n"
max_frame = 32
poll_interval = "10ms"
)",
                                            "[[devices.points]]\nname = \"v\"\nfield = 0\n"));
  (void)poll_due(crlf);
  for (int i = 0; i < 10; ++i) lf.write("value=1\n");
  for (int i = 0; i < 50 && crlf.health().bad_responses == 0; ++i) {
    EXPECT_TRUE(poll_due(crlf).empty());
  }
  EXPECT_GE(crlf.health().bad_responses, 1u);
  EXPECT_NE(crlf.health().last_bad_frame.find(
                "\"value=1\\n\" (ends with \"\\n\", not the delimiter \"\\r\\n\""),
            std::string::npos)
      << crlf.health().last_bad_frame;
}

}  // namespace
}  // namespace fieldgate::testing
