#include "config/driver_schema.hpp"

#include <algorithm>

#include "config/toml_section.hpp"

namespace fieldgate::config {
namespace {

void append_new(std::vector<std::string_view>& out, std::span<const std::string_view> keys) {
  for (std::string_view key : keys) {
    if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(key);
  }
}

bool contains(std::span<const std::string_view> keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

void SchemaCatalog::add(std::shared_ptr<const DriverSchema> schema) {
  for (std::string_view name : schema->names()) names_.push_back(name);
  schemas_.push_back(std::move(schema));
}

const DriverSchema* SchemaCatalog::find(std::string_view driver) const noexcept {
  for (const auto& schema : schemas_) {
    if (contains(schema->names(), driver)) return schema.get();
  }
  return nullptr;
}

void SchemaCatalog::add_format(PayloadFormat format) {
  for (auto& known : formats_) {
    if (known.name == format.name) {
      known = std::move(format);
      return;
    }
  }
  formats_.push_back(std::move(format));
}

const PayloadFormat* SchemaCatalog::find_format(std::string_view name) const noexcept {
  for (const auto& format : formats_) {
    if (format.name == name) return &format;
  }
  return nullptr;
}

std::vector<std::string_view> SchemaCatalog::format_names() const {
  std::vector<std::string_view> out;
  out.reserve(formats_.size());
  for (const auto& format : formats_) out.emplace_back(format.name);
  return out;
}

const DriverSchema* SchemaCatalog::fallback() const noexcept {
  return schemas_.empty() ? nullptr : schemas_.front().get();
}

std::vector<std::string_view> SchemaCatalog::device_keys(
    std::span<const std::string_view> common) const {
  std::vector<std::string_view> out(common.begin(), common.end());
  for (const auto& schema : schemas_) append_new(out, schema->device_keys());
  return out;
}

std::vector<std::string_view> SchemaCatalog::point_keys(
    std::span<const std::string_view> common) const {
  std::vector<std::string_view> out(common.begin(), common.end());
  for (const auto& schema : schemas_) append_new(out, schema->point_keys());
  return out;
}

void SchemaCatalog::reject_foreign_device_keys(Section& s, const DriverSchema& own) const {
  for (const auto& schema : schemas_) {
    if (schema.get() == &own) continue;
    for (std::string_view key : schema->device_keys()) {
      if (contains(own.device_keys(), key) || s.reported(key)) continue;
      s.reject(key, schema->foreign_key_message(key));
    }
  }
}

void SchemaCatalog::reject_foreign_point_keys(Section& s, const DriverSchema& own) const {
  for (const auto& schema : schemas_) {
    if (schema.get() == &own) continue;
    for (std::string_view key : schema->point_keys()) {
      if (contains(own.point_keys(), key) || s.reported(key)) continue;
      s.reject(key, schema->foreign_key_message(key));
    }
  }
}

}  // namespace fieldgate::config
