#include "drivers/modbus/scan_unit.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <string>
#include <string_view>
#include <variant>

#include <fmt/format.h>
#include <modbus/modbus.h>

#include "drivers/modbus/model_probe.hpp"
#include "drivers/sunspec/decoder.hpp"
#include "drivers/sunspec/model_table.hpp"
#include "drivers/sunspec/walker.hpp"

namespace fieldgate::modbus {
namespace {

constexpr ByteOrder kOrders[] = {ByteOrder::kABCD, ByteOrder::kCDAB, ByteOrder::kBADC,
                                 ByteOrder::kDCBA};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Either text contains the other (case-insensitive); empty texts never match.
bool related(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return false;
  const std::string la = lower(a);
  const std::string lb = lower(b);
  return la.find(lb) != std::string::npos || lb.find(la) != std::string::npos;
}

void match_models(UnitReader& reader, const std::vector<config::Model>& models,
                  UnitResult& result) {
  const RegisterRead read = [&](RegisterKind kind, int address, int count) {
    return reader.cached(kind, address, count);
  };
  for (const config::Model& model : models) {
    if (reader.lost()) return;
    const config::ProbeVerdict own = evaluate_model_probe(model, read);
    if (own.matched) {
      result.matches.push_back({model.name, std::nullopt});
      continue;
    }
    // A register that cannot be read does not read better in another order.
    if (own.reason.ends_with(": no value")) {
      result.unreadable.push_back(model.name);
      continue;
    }
    for (const ByteOrder order : kOrders) {
      if (evaluate_model_probe(model, read, order).matched) {
        result.matches.push_back({model.name, std::string(to_string(order))});
        break;
      }
    }
  }
}

// The identification's vendor and product first, then the library's order.
void rank_matches(const std::vector<config::Model>& models, UnitResult& result) {
  if (!result.identification) return;
  const auto score = [&](const ModelMatch& m) {
    const auto it = std::find_if(models.begin(), models.end(),
                                 [&](const config::Model& x) { return x.name == m.model; });
    if (it == models.end()) return 0;
    return (related(it->vendor, result.identification->vendor) ? 1 : 0) +
           (related(it->model, result.identification->product_code) ? 2 : 0);
  };
  std::stable_sort(result.matches.begin(), result.matches.end(),
                   [&](const ModelMatch& a, const ModelMatch& b) { return score(a) > score(b); });
}

std::string text_of(const std::vector<sunspec::DecodedValue>& values, std::string_view name) {
  for (const auto& v : values) {
    if (v.name == name) {
      if (const auto* s = std::get_if<std::string>(&v.value)) return *s;
    }
  }
  return {};
}

void find_sunspec(UnitReader& reader, UnitResult& result) {
  const sunspec::RegisterReader read = [&](std::uint16_t address,
                                           std::span<std::uint16_t> out) -> sunspec::ReadOutcome {
    std::vector<std::uint16_t> regs;
    switch (reader.read(RegisterKind::kHolding, address, static_cast<int>(out.size()), regs)) {
      case ScanRead::kData:
        std::copy(regs.begin(), regs.end(), out.begin());
        return {};
      case ScanRead::kException:
        return {Quality::kException, "exception"};
      case ScanRead::kSilent:
        return {Quality::kTimeout, "no answer"};
      case ScanRead::kGarbled:
        return {Quality::kBadResponse, "garbled answer"};
      case ScanRead::kLost:
        break;
    }
    return {Quality::kNoConnection, "connection lost"};
  };
  const sunspec::WalkResult walk = sunspec::walk(read, sunspec::WalkLimits{});
  if (!walk.layout) return;
  result.sunspec = true;
  result.sunspec_models =
      fmt::format("SunSpec at {}: {}", walk.layout->base, sunspec::describe(*walk.layout));
  const auto common = std::find_if(walk.layout->models.begin(), walk.layout->models.end(),
                                   [](const sunspec::ModelInstance& m) { return m.id == 1; });
  const sunspec::ModelDef* def = sunspec::find_model(1);
  if (common == walk.layout->models.end() || def == nullptr || common->length > 125) return;
  std::vector<std::uint16_t> body;
  if (common->length == 0 || reader.read(RegisterKind::kHolding, common->address + 2,
                                         common->length, body) != ScanRead::kData) {
    return;
  }
  std::vector<sunspec::DecodedValue> values;
  sunspec::DecodeStats stats;
  sunspec::decode_model(*def, "common", body, values, stats);
  std::vector<std::string> parts;
  const std::string maker = text_of(values, "common_manufacturer");
  const std::string model = text_of(values, "common_model");
  if (!maker.empty() || !model.empty()) parts.push_back(fmt::format("{} {}", maker, model));
  if (const auto sn = text_of(values, "common_serial_number"); !sn.empty()) {
    parts.push_back("serial " + sn);
  }
  if (const auto vr = text_of(values, "common_version"); !vr.empty()) {
    parts.push_back("version " + vr);
  }
  result.sunspec_common = fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

ScanRead UnitReader::read(RegisterKind kind, int address, int count,
                          std::vector<std::uint16_t>& out) {
  if (count < 1 || count > MODBUS_MAX_READ_REGISTERS || address < 0 || address + count > 65536 ||
      (kind != RegisterKind::kHolding && kind != RegisterKind::kInput)) {
    return ScanRead::kException;  // nothing a scan sends
  }
  if (lost_) return ScanRead::kLost;
  out.assign(static_cast<std::size_t>(count), 0);
  ++requests_;
  link_.begin_transaction(unit_, timeout_, timeout_);
  const int rc = kind == RegisterKind::kInput
                     ? modbus_read_input_registers(link_.context(), address, count, out.data())
                     : modbus_read_registers(link_.context(), address, count, out.data());
  const int err = errno;
  link_.end_transaction();
  if (rc == count) return ScanRead::kData;
  if (rc >= 0) {
    resync();
    return ScanRead::kGarbled;
  }
  // A TCP gateway saying its serial side did not answer: the unit is silent.
  if (err == EMBXGPATH || err == EMBXGTAR) return ScanRead::kSilent;
  switch (quality_of_errno(err)) {
    case Quality::kTimeout:
      resync();
      return ScanRead::kSilent;
    case Quality::kException:
      return ScanRead::kException;
    case Quality::kBadResponse:
      resync();
      return ScanRead::kGarbled;
    default:
      break;
  }
  lost_ = true;
  return ScanRead::kLost;
}

void UnitReader::resync() {
  if (link_.is_serial()) {
    link_.flush();
    return;
  }
  link_.disconnect();
  if (!link_.ensure_connected().empty()) lost_ = true;
}

std::optional<std::vector<std::uint16_t>> UnitReader::cached(RegisterKind kind, int address,
                                                             int count) {
  const auto key = std::make_tuple(static_cast<int>(kind), address, count);
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  std::vector<std::uint16_t> regs;
  std::optional<std::vector<std::uint16_t>> value;
  if (read(kind, address, count, regs) == ScanRead::kData) value = std::move(regs);
  cache_.emplace(key, value);
  return value;
}

void identify_unit(UnitReader& reader, const std::vector<config::Model>& models,
                   UnitResult& result) {
  std::string error;
  result.identification =
      read_device_identification(reader.link(), reader.unit(), reader.timeout(), error);
  // A device that does not know 43/14 may answer late (a libmodbus-based one
  // waits out its byte timeout first) or in a way we cannot frame.
  if (!result.identification && error.rfind("not supported", 0) != 0) reader.resync();
  match_models(reader, models, result);
  if (!reader.lost()) find_sunspec(reader, result);
  rank_matches(models, result);
  result.state =
      result.sunspec || !result.matches.empty() ? UnitState::kIdentified : UnitState::kUnknown;
  result.requests = reader.requests() + 1;
}

}  // namespace fieldgate::modbus
