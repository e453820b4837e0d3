#include "gateway/cmd_sparkplug.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bridge/sparkplug_payload.hpp"
#include "config/file_read.hpp"
#include "gateway/commands.hpp"

namespace fieldgate::gateway {
namespace {

namespace sp = bridge::sparkplug;
using Json = nlohmann::ordered_json;

constexpr std::size_t kMaxInput = 1024 * 1024;

// Standard input up to kMaxInput + 1 bytes (one more tells it was too long).
bool read_stdin(std::string& out, std::string& error) {
  char buffer[65536];
  while (out.size() <= kMaxInput) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return false;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

Json value_json(const sp::MetricValue& value) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, sp::Bytes>) {
          static constexpr char kHex[] = "0123456789abcdef";
          std::string hex;
          for (unsigned char c : v.data) {
            hex += kHex[c >> 4];
            hex += kHex[c & 15];
          }
          return Json{{"bytes_hex", hex}};
        } else {
          return v;
        }
      },
      value);
}

Json payload_json(const sp::Payload& p) {
  Json j;
  j["timestamp"] = p.timestamp ? Json(*p.timestamp) : Json();
  j["seq"] = p.seq ? Json(*p.seq) : Json();
  Json metrics = Json::array();
  for (const auto& m : p.metrics) {
    Json mj;
    if (m.name) mj["name"] = *m.name;
    if (m.alias) mj["alias"] = *m.alias;
    if (m.timestamp) mj["timestamp"] = *m.timestamp;
    mj["datatype"] = std::string(sp::to_string(static_cast<sp::DataType>(m.datatype)));
    mj["value"] = value_json(m.value);
    mj["is_null"] = std::holds_alternative<std::monostate>(m.value);
    if (m.is_historical) mj["is_historical"] = true;
    if (m.is_transient) mj["is_transient"] = true;
    if (!m.eng_unit.empty()) mj["engUnit"] = m.eng_unit;
    if (m.quality) mj["quality"] = *m.quality;
    metrics.push_back(std::move(mj));
  }
  j["metrics"] = std::move(metrics);
  return j;
}

int run_decode(const std::string& path, std::ostream& out, std::ostream& err) {
  std::string bytes;
  std::string error;
  if (path.empty() || path == "-") {
    if (!read_stdin(bytes, error)) {
      err << "sparkplug decode: cannot read standard input: " << error << "\n";
      return kExitConfigError;
    }
  } else {
    const config::FileRead file = config::read_regular_file(path, kMaxInput);
    if (!file.error.empty()) {
      err << "sparkplug decode: " << file.what() << "\n";
      return kExitConfigError;
    }
    bytes = file.text;
  }
  sp::DecodeLimits limits;
  limits.max_bytes = kMaxInput;
  limits.max_metrics = 100000;
  limits.max_text = 65536;
  const sp::Decoded decoded = sp::decode(bytes, limits);
  if (!decoded.payload) {
    err << "sparkplug decode: " << decoded.error << "\n";
    return kExitConfigError;
  }
  out << payload_json(*decoded.payload).dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  return kExitOk;
}

}  // namespace

void add_sparkplug_command(CLI::App& app, int& exit_code) {
  auto* sparkplug = app.add_subcommand("sparkplug", "Sparkplug B tools (see docs/SPARKPLUG.md)");
  sparkplug->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto* decode = sparkplug->add_subcommand(
      "decode",
      "Print a Sparkplug B payload (a file, or standard input) as JSON. Exit 0, 1 when it is "
      "not a payload fieldgate accepts");
  decode->add_option("file", *path, "The payload's file; standard input when absent or -");
  decode->callback([path, &exit_code] { exit_code = run_decode(*path, std::cout, std::cerr); });
}

}  // namespace fieldgate::gateway
