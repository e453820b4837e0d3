// `fieldgate scan`, the bus side, as the gateway layer sees it (like
// simulator.hpp, a drivers/ header that names no driver folder's types; the
// code is drivers/modbus/scan*.cpp and device_id.cpp): try unit ids over one
// or more line settings (RTU: bauds × parities; TCP: one endpoint), and for
// each unit that answers find what it is: a library model whose probe passes
// (trying the byte orders), a SunSpec device (the "SunS" marker and its
// common model), and the device's identification (function 43/14) where it
// has one.
//
// Design notes:
// 1. Read only. Requests are FC 03/04 and 43/14, nothing else; the device is
//    hostile input (device_id.hpp parses 43/14 defensively, the SunSpec
//    walker bounds the chain).
// 2. Bounded. Every request has `timeout`; the whole scan stops at
//    `max_time` and says which settings and units it did not try. The RTU
//    inter-frame delay is the link's (ModbusLink::begin_transaction).
// 3. Never mis-identified. A unit answers when it returns data or a Modbus
//    exception of its own (a TCP gateway's 0x0A/0x0B is silence); it is
//    "identified" only when a model's whole probe passes or a SunSpec chain
//    walks to its end; anything else is "answers, unknown".
// 4. One master per line. The serial port is opened through ModbusLink, which
//    takes the port's lock: scan refuses when a gateway has the line open.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "core/serial_port.hpp"

namespace fieldgate::modbus {

/// What a device said about itself with function 43/14 (the basic objects
/// 0..2 and any others).
struct DeviceIdentification {
  std::string vendor;                                // object 0, VendorName
  std::string product_code;                          // object 1, ProductCode
  std::string revision;                              // object 2, MajorMinorRevision
  std::vector<std::pair<int, std::string>> objects;  // every object, in order
};

/// What to scan and how long to take.
struct ScanOptions {
  bool rtu = true;
  // RTU
  std::string device;  // serial port path
  std::vector<int> bauds;
  std::vector<Parity> parities;
  int data_bits = 8;
  int stop_bits = 1;
  std::optional<std::chrono::milliseconds> inter_frame_delay;  // nullopt: t3.5 of the baud
  // TCP
  std::string host;
  int port = 502;

  std::vector<int> units;                          // in the order tried
  std::chrono::milliseconds timeout{200};          // per request
  std::chrono::milliseconds max_time{10 * 60000};  // the whole scan
};

/// One line setting: a baud and parity on RTU; baud 0 on TCP.
struct LineSetting {
  int baud = 0;
  Parity parity = Parity::kNone;
};

/// A library model whose probe passed.
struct ModelMatch {
  std::string model;
  /// nullopt: with the model's own byte order; else the order that gave
  /// plausible values, as a device's `byte_order` spells it ("CDAB").
  std::optional<std::string> order;
};

enum class UnitState {
  kSilent,      // no answer within the timeout
  kGarbled,     // bytes came back that are not a valid frame (wrong baud or parity?)
  kUnknown,     // answers, matches no model and is not SunSpec
  kIdentified,  // one or more models matched, or SunSpec
};

/// What one unit id at one setting turned out to be.
struct UnitResult {
  int unit = 0;
  LineSetting setting;
  UnitState state = UnitState::kSilent;
  std::vector<ModelMatch> matches;  // best first (the identification's vendor, then by name)
  std::optional<DeviceIdentification> identification;
  bool sunspec = false;
  std::string sunspec_models;           // "SunSpec at 40000: 1 common @40002 (66), ..."
  std::string sunspec_common;           // "Fronius Symo 15.0-3-M, serial 123, version 1.2"
  std::vector<std::string> unreadable;  // models whose probe registers could not be read
  int requests = 0;
};

/// The scan's outcome. `units` holds every unit tried (silent ones too).
struct ScanReport {
  std::vector<UnitResult> units;
  std::vector<LineSetting> settings;  // every setting asked for, in order
  /// Why the scan stopped before trying everything ("" when it did not).
  std::string stopped;
  /// Settings not reached, and units of the setting where time ran out.
  std::vector<LineSetting> settings_skipped;
  std::vector<int> units_skipped;  // of the last setting tried
  std::chrono::milliseconds elapsed{0};
};

/// The settings `options` asks for, in the order they are tried.
[[nodiscard]] std::vector<LineSetting> scan_settings(const ScanOptions& options);

/// An upper bound of the time a scan takes if every unit is silent (each
/// request waits its whole timeout), for the estimate printed up front.
[[nodiscard]] std::chrono::milliseconds estimate_scan_time(const ScanOptions& options);

/// Called after each unit: units done and units in total.
using ScanProgress = std::function<void(int done, int total)>;

/// Scans. Throws std::runtime_error when the line cannot be opened at all (the
/// port is locked by a gateway, missing, or the TCP endpoint refuses): what
/// a technician must fix before a scan can say anything. `models`: the
/// library, in the order matches are preferred among equals.
[[nodiscard]] ScanReport scan_bus(const ScanOptions& options,
                                  const std::vector<config::Model>& models,
                                  const ScanProgress& progress = {});

}  // namespace fieldgate::modbus
