// Fuzz target: the serial FrameParser (key-value, fields, PCRE2 regex with
// named groups, split) and convert() (drivers/serial/parser.*), on any payload
// under any parse settings.
//
// Input:
//   0  parse mode (% 3: key-value, fields, regex); bit 7: assign = separator
//   then length-prefixed strings: separator, assign, pattern (regex only)
//   1  number of points (% 4 + 1), then per point: type (% 4: number, int,
//      bool, string), field (% 16), key, group, split (length-prefixed), part
//      (% 4), scale and offset (8 bytes each, as a double; non-finite or zero
//      scale replaced by 1 as the loader would refuse it)
//   the rest: the payload
//
// Checks: one result per point; a pattern that does not compile or lacks a
// group throws std::invalid_argument only (the loader refuses both first);
// convert() gives either a value of the point's type or an error, and a number
// is always finite.
#include <bit>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>

#include "config/config.hpp"
#include "drivers/serial/parser.hpp"
#include "tests/fuzz/fuzz_input.hpp"

namespace {

using namespace fieldgate;
using serial::SerialValueType;

double finite_or(double v, double fallback) {
  return std::isfinite(v) && v != 0 ? v : fallback;
}

void check_converted(const serial::Converted& c, const config::PointConfig& point) {
  if (!c.error.empty()) {
    FUZZ_CHECK(std::holds_alternative<std::monostate>(c.value));
    return;
  }
  switch (serial::point_of(point).type) {
    case SerialValueType::kString:
      FUZZ_CHECK(std::holds_alternative<std::string>(c.value));
      break;
    case SerialValueType::kBool:
      FUZZ_CHECK(std::holds_alternative<bool>(c.value));
      break;
    case SerialValueType::kInt:
    case SerialValueType::kNumber:
      if (const auto* d = std::get_if<double>(&c.value)) {
        FUZZ_CHECK(std::isfinite(*d));
      } else {
        FUZZ_CHECK(std::holds_alternative<std::int64_t>(c.value));
      }
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  config::DeviceConfig device;
  device.name = "fuzz";
  device.driver = "serial-line";
  const std::uint8_t mode = in.byte();
  serial::edit_line_of(device).parse = static_cast<serial::ParseMode>(mode % 3);
  serial::edit_line_of(device).separator = in.text(8);
  serial::edit_line_of(device).assign =
      (mode & 0x80) != 0 ? serial::line_of(device).separator : in.text(8);
  if (serial::line_of(device).separator.empty())
    serial::edit_line_of(device).separator = ",";  // the loader's rule
  if (serial::line_of(device).assign.empty()) serial::edit_line_of(device).assign = "=";
  if (serial::line_of(device).parse == serial::ParseMode::kRegex)
    serial::edit_line_of(device).pattern = in.text(64);

  const int points = 1 + in.byte() % 4;
  for (int i = 0; i < points; ++i) {
    config::PointConfig p;
    p.name = "p" + std::to_string(i);
    serial::edit_point_of(p).type = static_cast<SerialValueType>(in.byte() % 4);
    serial::edit_point_of(p).field = in.byte() % 16;
    serial::edit_point_of(p).key = in.text(8);
    serial::edit_point_of(p).group = in.text(8);
    serial::edit_point_of(p).split = in.text(4);
    serial::edit_point_of(p).part = in.byte() % 4;
    p.scale = finite_or(std::bit_cast<double>(in.u64()), 1.0);
    p.offset = finite_or(std::bit_cast<double>(in.u64()), 0.0);
    device.points.push_back(std::move(p));
  }
  const std::string_view payload = in.rest();

  std::unique_ptr<serial::FrameParser> parser;
  try {
    parser = std::make_unique<serial::FrameParser>(device);
  } catch (const std::invalid_argument&) {
    FUZZ_CHECK(serial::line_of(device).parse == serial::ParseMode::kRegex);
    return 0;
  }
  const serial::FrameParser::Result result = parser->parse(payload);
  FUZZ_CHECK(result.points.size() == device.points.size());
  for (std::size_t i = 0; i < device.points.size(); ++i) {
    const serial::PointText& t = result.points[i];
    if (!result.matched) FUZZ_CHECK(t.state == serial::PointText::State::kAbsent);
    if (t.state != serial::PointText::State::kText) continue;
    check_converted(serial::convert(t.text, device.points[i]), device.points[i]);
  }
  // convert() on the raw payload too: every text an instrument may send.
  for (const config::PointConfig& p : device.points)
    check_converted(serial::convert(payload, p), p);
  return 0;
}
