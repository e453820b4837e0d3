// The built-in payload formats, one file each (encoder_json.cpp,
// encoder_value.cpp, encoder_device_json.cpp): their encoders for the
// registry, and the payload text itself for tests and the benchmark.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "bridge/payload_encoder.hpp"
#include "core/reading.hpp"

namespace fieldgate::bridge {

/// {"value":230.5,"unit":"V","ts":"2026-…Z","ts_ms":…,"seq":42,"quality":"good"}
/// (+ "error" when quality is not good; value null).
[[nodiscard]] std::string json_payload(const Reading& reading);
/// The bare value as text ("230.5", "true", "FG-1"); "" for a failed read.
[[nodiscard]] std::string value_payload(const Reading& reading);
/// One message for several readings of one device poll:
/// {"device":"meter","ts":…,"ts_ms":…,"seq_first":…,"seq_last":…,
///  "points":{"voltage_l1":{"value":…,"unit":"V","quality":"good","seq":…},…}}
[[nodiscard]] std::string device_json_payload(std::span<const Reading> readings);

/// "json": one message per reading, json_payload().
[[nodiscard]] std::unique_ptr<PayloadEncoder> make_json_encoder();
/// "value": one message per reading, value_payload().
[[nodiscard]] std::unique_ptr<PayloadEncoder> make_value_encoder();
/// "device-json": consecutive readings of one device form one message (a
/// point seen again starts the next poll), device_json_payload().
[[nodiscard]] std::unique_ptr<PayloadEncoder> make_device_json_encoder();

}  // namespace fieldgate::bridge
