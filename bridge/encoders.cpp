#include <utility>
#include <vector>

#include "bridge/payload_encoder.hpp"
#include "bridge/payload_formats.hpp"
#include "bridge/sparkplug_encoder.hpp"

namespace fieldgate::bridge {

void EncoderRegistry::add(std::string name, std::unique_ptr<PayloadEncoder> encoder) {
  for (auto& [known, existing] : entries_) {
    if (known == name) {
      existing = std::move(encoder);
      return;
    }
  }
  entries_.emplace_back(std::move(name), std::move(encoder));
}

PayloadEncoder* EncoderRegistry::find(std::string_view name) const noexcept {
  // A handful of entries: a linear search of short names, no allocation.
  for (const auto& [known, encoder] : entries_) {
    if (known == name) return encoder.get();
  }
  return nullptr;
}

void EncoderRegistry::start_session() {
  for (auto& entry : entries_) entry.second->start_session();
}

std::vector<config::PayloadFormat> EncoderRegistry::formats() const {
  std::vector<config::PayloadFormat> out;
  out.reserve(entries_.size());
  for (const auto& [name, encoder] : entries_) out.push_back({name, encoder->per_device()});
  return out;
}

// These names, in this order, are what config/ accepts for `payload` (and
// lists in "expected one of ..."). A new format: its file, and one line here.
EncoderRegistry make_default_encoders() {
  EncoderRegistry registry;
  registry.add("json", make_json_encoder());
  registry.add("value", make_value_encoder());
  registry.add("device-json", make_device_json_encoder());
  // Replaced by one bound to the edge node when [sparkplug] runs (gateway.cpp).
  registry.add("sparkplug-b", sparkplug::make_encoder(nullptr));
  return registry;
}

}  // namespace fieldgate::bridge
