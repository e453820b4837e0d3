// "device-json": one message per device poll with all its points.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string_view>

#include "bridge/payload_formats.hpp"
#include "bridge/value_json.hpp"
#include "core/clock.hpp"

namespace fieldgate::bridge {
namespace {

using Json = nlohmann::ordered_json;  // keys in the documented order

// The value as JSON: null for a failed read, and for NaN and infinities,
// which JSON cannot express (their quality is kept as it was).
Json json_value(const Reading& reading) {
  if (reading.quality != Quality::kGood) return nullptr;
  return value_to_json<Json>(reading.value);
}

// Strings from devices (Modbus string registers) may hold any bytes; invalid
// UTF-8 becomes U+FFFD instead of failing the whole message.
std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Consecutive readings of one device (one poll's batch is appended
// contiguously) form one message; a point seen again starts the next poll,
// so a message never holds two polls' values of one point.
class DeviceJsonEncoder final : public PayloadEncoder {
 public:
  [[nodiscard]] std::size_t group(std::span<const Reading> rows, bool may_wait) const override {
    const Reading& first = rows.front();
    std::set<std::string_view> points{first.point};
    std::size_t end = 1;
    while (end < rows.size() && rows[end].device == first.device &&
           points.insert(rows[end].point).second) {
      ++end;
    }
    // The poll may go on past the peek: it goes out whole with the next one.
    if (end == rows.size() && may_wait) return 0;
    return end;
  }

  void encode(std::span<const Reading> readings, OutgoingMessage& message) override {
    message.payload = device_json_payload(readings);
  }

  [[nodiscard]] bool per_device() const noexcept override { return true; }
};

}  // namespace

std::string device_json_payload(std::span<const Reading> readings) {
  Json j;
  if (readings.empty()) return dump(Json::object());
  const Reading& first = readings.front();
  std::uint64_t seq_first = first.seq;
  std::uint64_t seq_last = first.seq;
  Json points = Json::object();
  for (const Reading& r : readings) {
    seq_first = std::min(seq_first, r.seq);
    seq_last = std::max(seq_last, r.seq);
    Json p;
    p["value"] = json_value(r);
    p["unit"] = r.unit;
    p["quality"] = to_string(r.quality);
    p["seq"] = r.seq;
    if (r.quality != Quality::kGood) p["error"] = r.error;
    points[r.point] = std::move(p);
  }
  j["device"] = first.device;
  j["ts"] = iso8601(first.source_ts_ms);
  j["ts_ms"] = first.source_ts_ms;
  j["seq_first"] = seq_first;
  j["seq_last"] = seq_last;
  j["points"] = std::move(points);
  return dump(j);
}

std::unique_ptr<PayloadEncoder> make_device_json_encoder() {
  return std::make_unique<DeviceJsonEncoder>();
}

}  // namespace fieldgate::bridge
