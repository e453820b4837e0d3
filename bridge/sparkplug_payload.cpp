// Sparkplug B payloads ↔ protobuf-c. The generated structs point into
// buffers this file owns (vectors that live as long as the call), so no
// protobuf-c allocation happens on the way out; on the way in, protobuf-c
// allocates through a budget allocator that fails once a payload asks for
// more than kDecodeBudget bytes, however it is crafted.
#include "bridge/sparkplug_payload.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <new>

#include "core/reading.hpp"
#include "sparkplug_b_wire.pb-c.h"

namespace fieldgate::bridge::sparkplug {
namespace {

using PbPayload = Fieldgate__Sparkplug__Payload;
using PbMetric = Fieldgate__Sparkplug__Payload__Metric;
using PbPropertySet = Fieldgate__Sparkplug__Payload__PropertySet;
using PbPropertyValue = Fieldgate__Sparkplug__Payload__PropertyValue;

// protobuf-c's parse of a payload of max_bytes needs a few times its size;
// far more than any command, far less than what a thread can spare.
constexpr std::size_t kDecodeBudget = 8U << 20;

constexpr std::array<std::string_view, 18> kTypeNames{
    "Unknown", "Int8",   "Int16",   "Int32",  "Int64",    "UInt8", "UInt16", "UInt32",  "UInt64",
    "Float",   "Double", "Boolean", "String", "DateTime", "Text",  "UUID",   "DataSet", "Bytes"};

ProtobufCBinaryData bytes_of(std::string_view text) {
  // protobuf-c only reads through this pointer when packing.
  return {text.size(), reinterpret_cast<std::uint8_t*>(const_cast<char*>(text.data()))};
}

// Everything one encoded metric points to.
struct MetricParts {
  PbPropertySet properties = FIELDGATE__SPARKPLUG__PAYLOAD__PROPERTY_SET__INIT;
  std::array<ProtobufCBinaryData, 2> keys{};
  std::array<PbPropertyValue, 2> values{};
  std::array<PbPropertyValue*, 2> value_ptrs{};
};

void set_value(const Metric& in, PbMetric& out) {
  const auto type = static_cast<DataType>(in.datatype);
  if (std::holds_alternative<std::monostate>(in.value)) {
    out.has_is_null = 1;
    out.is_null = 1;
    return;
  }
  // The value as each field wants it, whatever alternative holds it.
  const auto as_u64 = [&]() -> std::uint64_t {
    if (const auto* i = std::get_if<std::int64_t>(&in.value)) return static_cast<std::uint64_t>(*i);
    if (const auto* u = std::get_if<std::uint64_t>(&in.value)) return *u;
    if (const auto* d = std::get_if<double>(&in.value)) {
      return *d < 0 ? static_cast<std::uint64_t>(static_cast<std::int64_t>(*d))
                    : static_cast<std::uint64_t>(*d);
    }
    if (const auto* b = std::get_if<bool>(&in.value)) return *b ? 1 : 0;
    return 0;
  };
  const auto as_double = [&]() -> double {
    if (const auto* d = std::get_if<double>(&in.value)) return *d;
    if (const auto* i = std::get_if<std::int64_t>(&in.value)) return static_cast<double>(*i);
    if (const auto* u = std::get_if<std::uint64_t>(&in.value)) return static_cast<double>(*u);
    if (const auto* b = std::get_if<bool>(&in.value)) return *b ? 1.0 : 0.0;
    return 0.0;
  };
  switch (type) {
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kUInt8:
    case DataType::kUInt16:
    case DataType::kUInt32:
      out.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE;
      out.int_value = static_cast<std::uint32_t>(as_u64());
      return;
    case DataType::kInt64:
    case DataType::kUInt64:
    case DataType::kDateTime:
      out.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE;
      out.long_value = as_u64();
      return;
    case DataType::kFloat:
      out.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_FLOAT_VALUE;
      out.float_value = static_cast<float>(as_double());
      return;
    case DataType::kDouble:
      out.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE;
      out.double_value = as_double();
      return;
    case DataType::kBoolean:
      out.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE;
      out.boolean_value = as_u64() != 0 ? 1 : 0;
      return;
    case DataType::kBytes:
      if (const auto* b = std::get_if<Bytes>(&in.value)) {
        out.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_BYTES_VALUE;
        out.bytes_value = bytes_of(b->data);
        return;
      }
      break;
    default:
      if (const auto* s = std::get_if<std::string>(&in.value)) {
        out.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_STRING_VALUE;
        out.string_value = bytes_of(*s);
        return;
      }
      break;
  }
  // No field for this value under this datatype: say so rather than invent one.
  out.has_is_null = 1;
  out.is_null = 1;
}

void set_properties(const Metric& in, PbMetric& out, MetricParts& parts) {
  std::size_t n = 0;
  if (!in.eng_unit.empty()) {
    parts.keys[n] = bytes_of("engUnit");
    PbPropertyValue& v = parts.values[n];
    fieldgate__sparkplug__payload__property_value__init(&v);
    v.has_type = 1;
    v.type = static_cast<std::uint32_t>(DataType::kString);
    v.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__PROPERTY_VALUE__VALUE_STRING_VALUE;
    v.string_value = bytes_of(in.eng_unit);
    ++n;
  }
  if (in.quality) {
    parts.keys[n] = bytes_of("Quality");
    PbPropertyValue& v = parts.values[n];
    fieldgate__sparkplug__payload__property_value__init(&v);
    v.has_type = 1;
    v.type = static_cast<std::uint32_t>(DataType::kInt32);
    v.value_case = FIELDGATE__SPARKPLUG__PAYLOAD__PROPERTY_VALUE__VALUE_INT_VALUE;
    v.int_value = static_cast<std::uint32_t>(*in.quality);
    ++n;
  }
  if (n == 0) return;
  for (std::size_t i = 0; i < n; ++i) parts.value_ptrs[i] = &parts.values[i];
  parts.properties.n_keys = n;
  parts.properties.keys = parts.keys.data();
  parts.properties.n_values = n;
  parts.properties.values = parts.value_ptrs.data();
  out.properties = &parts.properties;
}

// --- decoding ---

struct Budget {
  std::size_t left = kDecodeBudget;
  bool exhausted = false;
};

void* budget_alloc(void* data, std::size_t size) {
  auto* budget = static_cast<Budget*>(data);
  if (size > budget->left) {
    budget->exhausted = true;
    return nullptr;  // protobuf-c gives up: the unpack fails
  }
  budget->left -= size;
  return std::malloc(size);  // NOLINT: protobuf-c frees it through budget_free
}

void budget_free(void* data, void* pointer) {
  (void)data;
  std::free(pointer);  // NOLINT
}

struct PayloadDeleter {
  ProtobufCAllocator* allocator;
  void operator()(PbPayload* p) const {
    fieldgate__sparkplug__payload__free_unpacked(p, allocator);
  }
};

// Text from the wire: within `max`, valid UTF-8, no NUL. "" or why not.
std::string text_problem(const ProtobufCBinaryData& data, std::size_t max, std::string_view what) {
  if (data.len > max) return fmt::format("{} of {} bytes (at most {})", what, data.len, max);
  const std::string_view text(reinterpret_cast<const char*>(data.data), data.len);
  if (text.find('\0') != std::string_view::npos) return fmt::format("{} holds a NUL byte", what);
  if (!is_valid_utf8(text)) return fmt::format("{} is not UTF-8", what);
  return {};
}

std::string as_string(const ProtobufCBinaryData& data) {
  return {reinterpret_cast<const char*>(data.data), data.len};
}

std::int64_t sign_extend(std::uint32_t raw, DataType type) {
  switch (type) {
    case DataType::kInt8:
      return static_cast<std::int8_t>(raw);
    case DataType::kInt16:
      return static_cast<std::int16_t>(raw);
    default:
      return static_cast<std::int32_t>(raw);
  }
}

// The value of `in` as its datatype says, or why it cannot be read.
std::string read_value(const PbMetric& in, const DecodeLimits& limits, Metric& out) {
  const auto type = static_cast<DataType>(out.datatype);
  if (in.has_is_null && in.is_null) return {};
  switch (in.value_case) {
    case FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_INT_VALUE:
      if (type == DataType::kInt8 || type == DataType::kInt16 || type == DataType::kInt32) {
        out.value = sign_extend(in.int_value, type);
      } else {
        out.value = static_cast<std::uint64_t>(in.int_value);
      }
      return {};
    case FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_LONG_VALUE:
      if (type == DataType::kInt64) {
        out.value = static_cast<std::int64_t>(in.long_value);
      } else {
        out.value = in.long_value;
      }
      return {};
    case FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_FLOAT_VALUE:
      out.value = static_cast<double>(in.float_value);
      return {};
    case FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_DOUBLE_VALUE:
      out.value = in.double_value;
      return {};
    case FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_BOOLEAN_VALUE:
      out.value = in.boolean_value != 0;
      return {};
    case FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_STRING_VALUE:
      if (in.string_value.len > limits.max_text) {
        return fmt::format("a string value of {} bytes (at most {})", in.string_value.len,
                           limits.max_text);
      }
      if (text_problem(in.string_value, limits.max_text, "").empty()) {
        out.value = as_string(in.string_value);
      } else {
        out.value = Bytes{as_string(in.string_value)};  // kept, but never taken for text
      }
      return {};
    case FIELDGATE__SPARKPLUG__PAYLOAD__METRIC__VALUE_BYTES_VALUE:
      if (in.bytes_value.len > limits.max_text) {
        return fmt::format("a bytes value of {} bytes (at most {})", in.bytes_value.len,
                           limits.max_text);
      }
      out.value = Bytes{as_string(in.bytes_value)};
      return {};
    default:
      return {};  // no value: none that we read (a DataSet, a Template)
  }
}

std::string read_properties(const PbPropertySet& in, const DecodeLimits& limits, Metric& out) {
  if (in.n_keys != in.n_values) {
    return fmt::format("{} property keys for {} values", in.n_keys, in.n_values);
  }
  if (in.n_keys > limits.max_properties) {
    return fmt::format("{} properties (at most {})", in.n_keys, limits.max_properties);
  }
  for (std::size_t i = 0; i < in.n_keys; ++i) {
    if (auto problem = text_problem(in.keys[i], limits.max_text, "a property name");
        !problem.empty()) {
      return problem;
    }
    const std::string key = as_string(in.keys[i]);
    const PbPropertyValue& v = *in.values[i];
    if (key == "engUnit" &&
        v.value_case == FIELDGATE__SPARKPLUG__PAYLOAD__PROPERTY_VALUE__VALUE_STRING_VALUE) {
      if (auto problem = text_problem(v.string_value, limits.max_text, "engUnit");
          !problem.empty()) {
        return problem;
      }
      out.eng_unit = as_string(v.string_value);
    } else if (key == "Quality" &&
               v.value_case == FIELDGATE__SPARKPLUG__PAYLOAD__PROPERTY_VALUE__VALUE_INT_VALUE) {
      out.quality = static_cast<std::int32_t>(v.int_value);
    }
  }
  return {};
}

std::string read_metric(const PbMetric& in, const DecodeLimits& limits, Metric& out) {
  if (in.has_name) {
    if (auto problem = text_problem(in.name, limits.max_text, "a metric name"); !problem.empty()) {
      return problem;
    }
    out.name = as_string(in.name);
  }
  if (in.has_alias) out.alias = in.alias;
  if (in.has_timestamp) out.timestamp = in.timestamp;
  if (in.has_datatype) out.datatype = in.datatype;
  out.is_historical = in.has_is_historical && in.is_historical;
  out.is_transient = in.has_is_transient && in.is_transient;
  if (in.properties != nullptr) {
    if (auto problem = read_properties(*in.properties, limits, out); !problem.empty()) {
      return problem;
    }
  }
  return read_value(in, limits, out);
}

}  // namespace

std::string_view to_string(DataType type) noexcept {
  const auto index = static_cast<std::size_t>(type);
  return index < kTypeNames.size() ? kTypeNames[index] : kTypeNames[0];
}

std::string encode(const Payload& payload) {
  std::vector<PbMetric> metrics(payload.metrics.size());
  std::vector<PbMetric*> metric_ptrs(payload.metrics.size());
  // A deque-like list of parts whose addresses stay put.
  std::vector<std::unique_ptr<MetricParts>> parts;
  for (std::size_t i = 0; i < payload.metrics.size(); ++i) {
    const Metric& in = payload.metrics[i];
    PbMetric& out = metrics[i];
    fieldgate__sparkplug__payload__metric__init(&out);
    if (in.name) {
      out.has_name = 1;
      out.name = bytes_of(*in.name);
    }
    if (in.alias) {
      out.has_alias = 1;
      out.alias = *in.alias;
    }
    if (in.timestamp) {
      out.has_timestamp = 1;
      out.timestamp = *in.timestamp;
    }
    out.has_datatype = 1;
    out.datatype = in.datatype;
    if (in.is_historical) {
      out.has_is_historical = 1;
      out.is_historical = 1;
    }
    if (in.is_transient) {
      out.has_is_transient = 1;
      out.is_transient = 1;
    }
    set_value(in, out);
    if (!in.eng_unit.empty() || in.quality) {
      parts.push_back(std::make_unique<MetricParts>());
      set_properties(in, out, *parts.back());
    }
    metric_ptrs[i] = &out;
  }
  PbPayload out = FIELDGATE__SPARKPLUG__PAYLOAD__INIT;
  if (payload.timestamp) {
    out.has_timestamp = 1;
    out.timestamp = *payload.timestamp;
  }
  if (payload.seq) {
    out.has_seq = 1;
    out.seq = *payload.seq;
  }
  out.n_metrics = metric_ptrs.size();
  out.metrics = metric_ptrs.data();
  std::string bytes(fieldgate__sparkplug__payload__get_packed_size(&out), '\0');
  fieldgate__sparkplug__payload__pack(&out, reinterpret_cast<std::uint8_t*>(bytes.data()));
  return bytes;
}

Decoded decode(std::string_view bytes, const DecodeLimits& limits) {
  Decoded result;
  if (bytes.size() > limits.max_bytes) {
    result.error = fmt::format("payload of {} bytes (at most {})", bytes.size(), limits.max_bytes);
    return result;
  }
  Budget budget;
  ProtobufCAllocator allocator{budget_alloc, budget_free, &budget};
  const std::unique_ptr<PbPayload, PayloadDeleter> pb(
      fieldgate__sparkplug__payload__unpack(&allocator, bytes.size(),
                                            reinterpret_cast<const std::uint8_t*>(bytes.data())),
      PayloadDeleter{&allocator});
  if (!pb) {
    result.error = budget.exhausted ? "not a Sparkplug B payload (too much to decode)"
                                    : "not a Sparkplug B payload (malformed protobuf)";
    return result;
  }
  if (pb->n_metrics > limits.max_metrics) {
    result.error = fmt::format("{} metrics (at most {})", pb->n_metrics, limits.max_metrics);
    return result;
  }
  Payload payload;
  if (pb->has_timestamp) payload.timestamp = pb->timestamp;
  if (pb->has_seq) payload.seq = pb->seq;
  payload.metrics.resize(pb->n_metrics);
  for (std::size_t i = 0; i < pb->n_metrics; ++i) {
    if (auto problem = read_metric(*pb->metrics[i], limits, payload.metrics[i]); !problem.empty()) {
      result.error = fmt::format("metric {}: {}", i, problem);
      return result;
    }
  }
  result.payload = std::move(payload);
  return result;
}

}  // namespace fieldgate::bridge::sparkplug
