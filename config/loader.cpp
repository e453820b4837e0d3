// TOML → Config. The only file that includes toml++ (it is heavy to compile).
//
// Design notes:
//  1. Nothing stops at the first problem: each value is read on its own, a bad
//     one is reported and left at its default, and reading goes on. All issues
//     are thrown together at the end, sorted by position.
//  2. Every string value goes through ${ENV} substitution before it is
//     interpreted (duration, enum, name...). A non-string key (integer, number,
//     boolean) also accepts a string when it holds a ${...} reference, since the
//     environment only has strings: `port = "${MB_PORT:-502}"`.
//  3. Checks that depend on one value only live next to its read; checks that
//     combine values of one table (type vs kind, address + length) follow the
//     reads and run only when every value they use was valid, so one mistake
//     yields one message. Checks across tables live in cross_checks.cpp.
#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/config.hpp"
#include "config/cross_checks.hpp"
#include "config/diagnostics.hpp"
#include "config/env.hpp"
#include "config/point_rules.hpp"
#include "config/schema.hpp"
#include "config/suggest.hpp"
#include "config/units.hpp"

namespace fieldgate::config {
namespace {

constexpr std::string_view kDurationExpected =
    "a duration such as \"500ms\", \"2s\", \"5m\" or \"1h\"";

SourcePos pos_of(const toml::source_region& region) {
  return {static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string quote(std::string_view s) {
  return fmt::format("{:?}", s);
}

// "integer 5", "string \"x\"", "table": what the user wrote, for "got ...".
std::string describe(const toml::node& node) {
  if (const auto* text = node.as_string()) return "string " + quote(text->get());
  if (node.is_table() || node.is_array()) return node.is_table() ? "table" : "array";
  std::ostringstream os;
  if (node.is_floating_point()) {
    os << "float";  // toml++ says "floating-point"; TOML users say float
  } else {
    os << node.type();
  }
  os << ' ';
  node.visit([&os](const auto& value) {
    if constexpr (toml::is_value<decltype(value)>) os << value;
  });
  return os.str();
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

enum class Need { kOptional, kRequired };

// One TOML table being read: typed getters that report problems to the
// Diagnostics instead of throwing, and the unknown-key check.
class Section {
 public:
  Section(Diagnostics& diag, const toml::table& table, std::string path, Keys known)
      : diag_(diag), table_(table), path_(std::move(path)), known_(known) {
    pos_ = pos_of(table.source());
    if (pos_.line == 0) pos_ = {1, 1};  // the root table of an empty file
  }

  [[nodiscard]] SourcePos pos() const { return pos_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  [[nodiscard]] const toml::node* find(std::string_view key) const { return table_.get(key); }
  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }
  [[nodiscard]] SourcePos pos_of_key(std::string_view key) const {
    const toml::node* node = find(key);
    return node != nullptr ? pos_of(node->source()) : pos_;
  }

  void report(std::string_view key, std::string message) {
    diag_.add(pos_of_key(key), path_of(key), std::move(message));
  }
  void missing(std::string_view key, std::string_view why = {}) {
    diag_.add(pos_, path_of(key),
              why.empty() ? "missing required key" : fmt::format("missing required key ({})", why));
  }
  // For keys that are valid in general but not in this combination.
  void reject(std::string_view key, std::string_view why) {
    if (has(key)) report(key, std::string(why));
  }

  std::optional<std::string> string(std::string_view key, Need need = Need::kOptional) {
    const toml::node* node = present(key, need);
    if (node == nullptr) return std::nullopt;
    if (!node->is_string()) {
      report(key, "expected a string, got " + describe(*node));
      return std::nullopt;
    }
    Substituted sub = substitute_env(node->as_string()->get());
    if (!sub.ok()) {
      report(key, std::move(sub.error));
      return std::nullopt;
    }
    return ok(key, std::move(sub.text));
  }

  std::optional<std::string> non_empty_string(std::string_view key, Need need) {
    auto value = string(key, need);
    if (value && value->empty()) {
      report(key, "expected a non-empty string, got \"\"");
      return std::nullopt;
    }
    return value;
  }

  // Device, point and bus names end up in MQTT topics and log lines.
  std::optional<std::string> name(std::string_view key, Need need) {
    auto value = string(key, need);
    if (!value) return value;
    if (!is_valid_name(*value)) {
      report(key, fmt::format("expected a name of letters, digits, \"_\", \"-\" and \".\", got {}",
                              quote(*value)));
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi,
                                      Need need = Need::kOptional) {
    const std::string expected = fmt::format("an integer {}..{}", lo, hi);
    const auto value = raw_integer(key, need, expected);
    if (value && (*value < lo || *value > hi)) {
      report(key, fmt::format("expected {}, got {}", expected, *value));
      return std::nullopt;
    }
    return value ? ok(key, *value) : value;
  }

  /// A Modbus TCP unit id: 0..247 or 255.
  std::optional<std::int64_t> raw_unit_id_tcp() {
    const std::string expected = "an integer 0..247 or 255";
    const auto value = raw_integer("unit_id", Need::kOptional, expected);
    if (value && !((*value >= 0 && *value <= 247) || *value == 255)) {
      report("unit_id", fmt::format("expected {}, got {}", expected, *value));
      return std::nullopt;
    }
    return value ? ok("unit_id", *value) : value;
  }

  std::optional<std::int64_t> integer_of(std::string_view key,
                                         std::span<const std::int64_t> allowed,
                                         std::string_view expected) {
    const auto value = raw_integer(key, Need::kOptional, expected);
    if (value && std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
      report(key, fmt::format("expected {}, got {}", expected, *value));
      return std::nullopt;
    }
    return value ? ok(key, *value) : value;
  }

  std::optional<double> number(std::string_view key) {
    const toml::node* node = present(key, Need::kOptional);
    if (node == nullptr) return std::nullopt;
    if (const auto* i = node->as_integer()) return ok(key, static_cast<double>(i->get()));
    if (const auto* f = node->as_floating_point()) return ok(key, f->get());
    return from_env<double>(key, *node, "a number", parse_double);
  }

  std::optional<bool> boolean(std::string_view key) {
    const toml::node* node = present(key, Need::kOptional);
    if (node == nullptr) return std::nullopt;
    if (const auto* b = node->as_boolean()) return ok(key, b->get());
    return from_env<bool>(key, *node, "true or false", [](std::string_view s) {
      return s == "true" ? std::optional(true) : s == "false" ? std::optional(false) : std::nullopt;
    });
  }

  // `positive`: 0 is an error (a poll interval of 0 would spin).
  std::optional<Duration> duration(std::string_view key, bool positive) {
    const toml::node* node = present(key, Need::kOptional);
    if (node == nullptr) return std::nullopt;
    if (node->is_integer() || node->is_floating_point()) {
      // The classic mistake: `poll_interval = 1000`. Milliseconds or seconds?
      std::ostringstream number;
      if (node->is_integer()) {
        number << *node->as_integer() << "ms";
      } else {
        number << node->as_floating_point()->get() << "s";
      }
      report(key, fmt::format("expected {}, got {} (add a unit, in quotes: \"{}\")",
                              kDurationExpected, describe(*node), number.str()));
      return std::nullopt;
    }
    if (!node->is_string()) {
      report(key, fmt::format("expected {}, got {}", kDurationExpected, describe(*node)));
      return std::nullopt;
    }
    const auto text = string(key);
    if (!text) return std::nullopt;
    const Parsed<Duration> parsed = parse_duration(*text);
    if (!parsed) {
      report(key, fmt::format("expected {}, got {} ({})", kDurationExpected, quote(*text),
                              parsed.error));
      return std::nullopt;
    }
    if (positive && parsed.value->count() == 0) {
      report(key, fmt::format("expected a duration > 0, got {}", quote(*text)));
      return std::nullopt;
    }
    return ok(key, *parsed.value);
  }

  // One of a fixed list of strings; returns the index into `names`.
  std::optional<std::size_t> one_of(std::string_view key, std::span<const std::string_view> names,
                                    Need need = Need::kOptional) {
    const toml::node* node = present(key, need);
    if (node == nullptr) return std::nullopt;
    const std::string expected = fmt::format("one of {}", fmt::join(names, ", "));
    if (!node->is_string()) {
      report(key, fmt::format("expected {}; got {}", expected, describe(*node)));
      return std::nullopt;
    }
    const auto text = string(key);
    if (!text) return std::nullopt;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == *text) return i;
    }
    std::string message = fmt::format("expected {}; got {}", expected, quote(*text));
    // Only a difference in case is a safe guess: "float" could be float32 or float64.
    for (std::string_view name : names) {
      if (name.size() == text->size() && edit_distance(name, *text) == 0) {
        message += fmt::format(" (did you mean {}?)", quote(name));
      }
    }
    report(key, std::move(message));
    return std::nullopt;
  }

  template <class Enum, std::size_t N>
  std::optional<Enum> choice(std::string_view key, const std::array<Enum, N>& values,
                             Need need = Need::kOptional) {
    std::array<std::string_view, N> names{};
    for (std::size_t i = 0; i < N; ++i) names[i] = to_string(values[i]);
    const auto index = one_of(key, names, need);
    if (!index) return std::nullopt;
    return values[*index];
  }

  // Nested tables and arrays, for the caller to walk.
  const toml::table* table(std::string_view key, std::string_view hint) {
    const toml::node* node = find(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) {
      report(key, fmt::format("expected a table ({}), got {}", hint, describe(*node)));
      return nullptr;
    }
    return node->as_table();
  }
  const toml::array* array_of_tables(std::string_view key, std::string_view hint) {
    const toml::node* node = find(key);
    if (node == nullptr) return nullptr;
    if (!node->is_array()) {
      report(key, fmt::format("expected an array of tables ({}), got {}", hint, describe(*node)));
      return nullptr;
    }
    return node->as_array();
  }

  // Reads each element of an array of tables as a Section; non-tables are reported.
  template <class Fn>
  void for_each_table(const toml::array& array, std::string_view key, Keys known, Fn&& read) {
    for (std::size_t i = 0; i < array.size(); ++i) {
      const toml::node& element = *array.get(i);
      const std::string element_path = fmt::format("{}[{}]", path_of(key), i);
      if (!element.is_table()) {
        diag_.add(pos_of(element.source()), element_path,
                  "expected a table, got " + describe(element));
        continue;
      }
      Section child(diag_, *element.as_table(), element_path, known);
      read(child);
    }
  }

  [[nodiscard]] Section child(const toml::table& table, std::string_view key, Keys known) {
    return Section(diag_, table, path_of(key), known);
  }

  void check_unknown_keys() {
    for (auto&& [key, value] : table_) {
      const std::string_view name = key.str();
      if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
      SourcePos pos = pos_of(key.source());
      if (pos.line == 0) pos = pos_of(value.source());
      std::string message = "unknown key";
      if (const auto guess = closest_match(name, known_)) {
        message += fmt::format(" (did you mean {}?)", quote(*guess));
      } else {
        message += fmt::format(" (known keys: {})", fmt::join(known_, ", "));
      }
      diag_.add(pos, path_of(name), std::move(message));
    }
  }

 private:
  const toml::node* present(std::string_view key, Need need) {
    const toml::node* node = find(key);
    if (node == nullptr && need == Need::kRequired) missing(key);
    return node;
  }

  template <class T>
  T ok(std::string_view key, T value) {
    diag_.remember(path_of(key), pos_of_key(key));
    return value;
  }

  // A string with a ${...} reference where a non-string is expected: the
  // environment can only give strings. A literal string is a type error.
  template <class T, class Parse>
  std::optional<T> from_env(std::string_view key, const toml::node& node, std::string_view expected,
                            Parse parse) {
    if (node.is_string()) {
      const std::string_view raw = node.as_string()->get();
      Substituted sub = substitute_env(raw);
      if (!sub.ok()) {
        report(key, std::move(sub.error));
        return std::nullopt;
      }
      if (sub.had_reference) {
        if (auto value = parse(sub.text)) return ok(key, *value);
        report(key, fmt::format("expected {}, got {} (after substituting {})", expected,
                                quote(sub.text), quote(raw)));
        return std::nullopt;
      }
      if (parse(sub.text)) {
        report(key,
               fmt::format("expected {}, got {} (remove the quotes)", expected, describe(node)));
        return std::nullopt;
      }
    }
    report(key, fmt::format("expected {}, got {}", expected, describe(node)));
    return std::nullopt;
  }

  std::optional<std::int64_t> raw_integer(std::string_view key, Need need,
                                          std::string_view expected) {
    const toml::node* node = present(key, need);
    if (node == nullptr) return std::nullopt;
    if (const auto* i = node->as_integer()) return i->get();
    return from_env<std::int64_t>(key, *node, expected, parse_int);
  }

  Diagnostics& diag_;
  const toml::table& table_;
  std::string path_;
  Keys known_;
  SourcePos pos_;
};

template <class T, class U>
void assign(T& field, const std::optional<U>& value) {
  if (value) field = static_cast<T>(*value);
}

GatewayConfig read_gateway(Section& s) {
  GatewayConfig g;
  assign(g.name, s.name("name", Need::kOptional));
  if (const auto level = s.one_of("log_level", kLogLevels)) g.log_level = kLogLevels[*level];
  s.check_unknown_keys();
  return g;
}

BusConfig read_bus(Section& s) {
  BusConfig b;
  b.pos = s.pos();
  assign(b.name, s.name("name", Need::kRequired));
  assign(b.port, s.non_empty_string("port", Need::kRequired));
  assign(b.baud, s.integer_of("baud", kBaudRates,
                              "a standard baud rate (1200, 2400, 4800, 9600, 19200, 38400, "
                              "57600, 115200, ... 4000000)"));
  assign(b.parity, s.choice("parity", kParities));
  assign(b.data_bits, s.integer("data_bits", 5, 8));
  assign(b.stop_bits, s.integer("stop_bits", 1, 2));
  assign(b.mode, s.choice("mode", kSerialModes));
  if (const auto delay = s.duration("inter_frame_delay", false)) b.inter_frame_delay = *delay;
  s.check_unknown_keys();
  return b;
}

PointConfig read_point(Section& s, const DeviceConfig& device, bool max_registers_known) {
  PointConfig p;
  p.pos = s.pos();
  assign(p.name, s.name("name", Need::kRequired));
  const auto kind = s.choice("kind", kRegisterKinds, Need::kRequired);
  const auto address = s.integer("address", 0, 65535, Need::kRequired);
  auto type = s.choice("type", kValueTypes);
  const auto count = s.integer("count", 1, 125);
  const auto bit = s.integer("bit", 0, 15);
  const auto scale = s.number("scale");
  const auto offset = s.number("offset");
  assign(p.unit, s.string("unit"));
  if (const auto interval = s.duration("interval", true)) p.interval = *interval;
  if (const auto order = s.choice("byte_order", kByteOrders)) p.byte_order = *order;
  s.check_unknown_keys();

  if (!s.has("type") && kind) {
    type = is_bit_kind(*kind) ? ValueType::kBool : ValueType::kUInt16;
  }
  assign(p.kind, kind);
  assign(p.address, address);
  assign(p.type, type);
  assign(p.count, count);
  assign(p.bit, bit);
  assign(p.scale, scale);
  assign(p.offset, offset);

  PointFacts facts;
  facts.kind = kind;
  facts.type = type;
  facts.address = address;
  facts.count = count;
  facts.scale = scale;
  facts.offset = offset;
  facts.has_count = s.has("count");
  facts.has_bit = s.has("bit");
  facts.has_scale = s.has("scale");
  facts.has_offset = s.has("offset");
  facts.has_byte_order = s.has("byte_order");
  if (max_registers_known) facts.max_registers = device.max_registers;
  for (KeyProblem& problem : check_point_rules(facts)) {
    if (problem.missing) {
      s.missing(problem.key, problem.message);
    } else {
      s.report(problem.key, std::move(problem.message));
    }
  }
  return p;
}

DeviceConfig read_device(Section& s) {
  DeviceConfig d;
  d.pos = s.pos();
  assign(d.name, s.name("name", Need::kRequired));
  const auto driver_index = s.one_of("driver", kDrivers, Need::kRequired);
  const std::string_view driver = driver_index ? kDrivers[*driver_index] : std::string_view{};
  d.driver = driver;
  const bool tcp = driver == kModbusTcp;
  const bool rtu = driver == kModbusRtu;

  if (rtu) {
    s.reject("host", "only allowed for driver \"modbus-tcp\"");
    s.reject("port",
             "only allowed for driver \"modbus-tcp\" (a serial port is set on the [[buses]] "
             "entry the device names)");
  } else if (tcp && !s.has("host")) {
    s.missing("host", "driver \"modbus-tcp\" needs a host");
  } else {
    assign(d.host, s.non_empty_string("host", Need::kOptional));
  }
  if (!rtu) assign(d.port, s.integer("port", 1, 65535));

  if (tcp) {
    s.reject("bus", "only allowed for driver \"modbus-rtu\"");
  } else if (rtu && !s.has("bus")) {
    s.missing("bus", "driver \"modbus-rtu\" needs a bus, the name of a [[buses]] entry");
  } else {
    assign(d.bus, s.name("bus", Need::kOptional));
  }
  // Unit 0 is the RTU broadcast address: nobody answers a read sent to it.
  // On TCP, libmodbus accepts 0..247 and 255 (the "no gateway" unit id) only.
  if (rtu) {
    assign(d.unit_id, s.integer("unit_id", 1, 247));
  } else if (const auto unit = s.raw_unit_id_tcp(); unit) {
    d.unit_id = static_cast<int>(*unit);
  }

  assign(d.poll_interval, s.duration("poll_interval", true));
  assign(d.response_timeout, s.duration("response_timeout", true));
  assign(d.byte_timeout, s.duration("byte_timeout", true));
  assign(d.retries, s.integer("retries", 0, 10));
  assign(d.byte_order, s.choice("byte_order", kByteOrders));
  assign(d.max_gap, s.integer("max_gap", 0, 125));
  const auto max_registers = s.integer("max_registers", 1, 125);
  assign(d.max_registers, max_registers);
  assign(d.max_bits, s.integer("max_bits", 1, 2000));
  assign(d.single_point_reads, s.boolean("single_point_reads"));
  assign(d.backoff_max, s.duration("backoff_max", true));

  const bool max_registers_known = max_registers || !s.has("max_registers");
  if (!s.has("points")) {
    s.missing("points", "a device needs at least one [[devices.points]] entry");
  } else if (const toml::array* points = s.array_of_tables("points", "[[devices.points]]")) {
    if (points->empty()) {
      s.report("points", "expected at least one [[devices.points]] entry, got an empty array");
    }
    s.for_each_table(*points, "points", kPointKeys, [&](Section& point) {
      d.points.push_back(read_point(point, d, max_registers_known));
    });
  }
  s.check_unknown_keys();
  return d;
}

Config read_root(const toml::table& root, Diagnostics& diag, const std::string& path) {
  Config config;
  config.path = path;
  Section s(diag, root, "", kRootKeys);
  if (const toml::table* gateway = s.table("gateway", "[gateway]")) {
    Section g = s.child(*gateway, "gateway", kGatewayKeys);
    config.gateway = read_gateway(g);
  }
  if (const toml::array* buses = s.array_of_tables("buses", "[[buses]]")) {
    s.for_each_table(*buses, "buses", kBusKeys,
                     [&](Section& bus) { config.buses.push_back(read_bus(bus)); });
  }
  if (!s.has("devices")) {
    s.missing("devices", "a configuration needs at least one [[devices]] entry");
  } else if (const toml::array* devices = s.array_of_tables("devices", "[[devices]]")) {
    if (devices->empty()) {
      s.report("devices", "expected at least one [[devices]] entry, got an empty array");
    }
    s.for_each_table(*devices, "devices", kDeviceKeys,
                     [&](Section& device) { config.devices.push_back(read_device(device)); });
  }
  s.check_unknown_keys();
  check_cross_references(config, diag);
  return config;
}

// toml++ says "Error while parsing ..."; our messages start in lower case.
std::string syntax_message(std::string_view description) {
  std::string message(description);
  if (!message.empty() && message[0] >= 'A' && message[0] <= 'Z') {
    message[0] = static_cast<char>(message[0] - 'A' + 'a');
  }
  return message;
}

}  // namespace

Config load_config_string(std::string_view toml_text, const std::string& path) {
  Diagnostics diag(path);
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    // The parser stops at the first syntax error, so this is the only issue.
    diag.add(pos_of(e.source()), "", syntax_message(e.description()));
    diag.throw_if_any();
  }
  Config config = read_root(root, diag, path);
  diag.throw_if_any();
  return config;
}

Config load_config(const std::string& path) {
  const auto fail = [&](std::string message) {
    throw ConfigError({ConfigIssue{path, {}, "", std::move(message)}});
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("cannot read the file: it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open the file: " + std::generic_category().message(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail("cannot read the file: " + std::generic_category().message(errno));
  return load_config_string(text.str(), path);
}

}  // namespace fieldgate::config
