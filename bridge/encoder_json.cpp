// "json": one message per reading.
#include <fmt/format.h>

#include <string_view>

#include "bridge/json_text.hpp"
#include "bridge/payload_formats.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {

// Written with fmt rather than built as an nlohmann::ordered_json and dumped:
// this runs for every reading, and the tree cost an allocation per key and
// value. The bytes are the same (bridge/json_text.hpp).
std::string json_payload(const Reading& reading) {
  fmt::memory_buffer out;
  out.append(std::string_view(R"({"value":)"));
  if (reading.quality == Quality::kGood) {
    append_json_value(out, reading.value);
  } else {
    out.append(std::string_view("null"));
  }
  out.append(std::string_view(R"(,"unit":)"));
  append_json_string(out, reading.unit);
  out.append(std::string_view(R"(,"ts":")"));
  append_iso8601(out, reading.source_ts_ms);  // digits, '-', ':', '.', 'T', 'Z' only
  out.append(std::string_view(R"(","ts_ms":)"));
  append_json_integer(out, reading.source_ts_ms);
  out.append(std::string_view(R"(,"seq":)"));
  append_json_integer(out, reading.seq);
  out.append(std::string_view(R"(,"quality":)"));
  append_json_string(out, to_string(reading.quality));
  if (reading.quality != Quality::kGood) {
    out.append(std::string_view(R"(,"error":)"));
    append_json_string(out, reading.error);
  }
  out.push_back('}');
  return fmt::to_string(out);
}

std::unique_ptr<PayloadEncoder> make_json_encoder() {
  return std::make_unique<PerReadingEncoder<&json_payload>>();
}

}  // namespace fieldgate::bridge
