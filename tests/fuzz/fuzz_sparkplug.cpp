// Fuzz target: the Sparkplug B decoder (bridge/sparkplug_payload.*), which
// reads every NCMD and DCMD a broker hands the edge node, and
// `fieldgate sparkplug decode`.
//
// Input: the payload as it arrived.
//
// Checks: nothing crashes or throws; an accepted payload holds at most
// max_metrics metrics, every name and string value is valid UTF-8 without a
// NUL and within max_text; encoding what was decoded and decoding that again
// gives the same metrics (names, aliases, datatypes).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bridge/sparkplug_payload.hpp"
#include "core/reading.hpp"

namespace {

namespace sp = fieldgate::bridge::sparkplug;

bool good_text(const std::string& text, std::size_t max) {
  return text.size() <= max && text.find('\0') == std::string::npos &&
         fieldgate::is_valid_utf8(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sp::DecodeLimits limits;
  limits.max_metrics = 64;
  limits.max_text = 256;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const sp::Decoded decoded = sp::decode(bytes, limits);
  if (!decoded.payload) {
    if (decoded.error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const sp::Payload& payload = *decoded.payload;
  if (payload.metrics.size() > limits.max_metrics) std::abort();
  for (const auto& m : payload.metrics) {
    if (m.name && !good_text(*m.name, limits.max_text)) std::abort();
    if (!good_text(m.eng_unit, limits.max_text)) std::abort();
    if (const auto* s = std::get_if<std::string>(&m.value); s && !good_text(*s, limits.max_text)) {
      std::abort();
    }
  }
  const sp::Decoded again = sp::decode(sp::encode(payload), limits);
  if (!again.payload || again.payload->metrics.size() != payload.metrics.size()) std::abort();
  for (std::size_t i = 0; i < payload.metrics.size(); ++i) {
    const auto& a = payload.metrics[i];
    const auto& b = again.payload->metrics[i];
    if (a.name != b.name || a.alias != b.alias || a.datatype != b.datatype) std::abort();
    // Values are not compared: a hostile payload may put a value in a field
    // its datatype does not use, and encode() writes the datatype's field.
  }
  return 0;
}
